{#- One row per labelled pair of the calibration splits with the score its task's threshold applies
    to under the active encoder: the cosine similarity, and for lookalikes the compliance check's
    score (macro lookalike_scores: the best unit's cosine less the reference's weighted
    typicality; lookalike pairs need ids, since the score needs the asset's sentences). What
    dim_similarity_thresholds fits its thresholds and probabilities on. -#}
{%- set splits = var('calibration_splits') -%}
with pairs as (
    select * from {{ ref('stg_semantic__labelled_pairs') }}
    where split in ({% for s in splits %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %})
),

assets as (
    select asset_id as id, vector, model_version from {{ ref('int_assets_embedded') }}
),

briefs as (
    select brief_id as id, vector, model_version from {{ ref('int_briefs_embedded') }}
),

compliance_references as (
    select reference_id as id, vector, model_version from {{ ref('int_compliance_references_embedded') }}
),

{#- the side of a pair given as text instead of an id: its vector by content hash #}
labelled_texts as (
    select text_id as id, vector, model_version from {{ ref('int_labelled_texts_embedded') }}
),

{#- one branch per task: which entity each side of the pair is; lookalikes are scored like the
    compliance check scores them (macro lookalike_scores) -#}
{%- set sides = [
    ('duplicate', 'assets', 'assets'),
    ('brief_match', 'briefs', 'assets'),
] %}
lookalike_pairs as (
    select distinct left_id as asset_id, right_id as reference_id from pairs where task = 'lookalike'
),

{{ lookalike_scores('lookalike_pairs') }},

scored as (
    {%- for task, left, right in sides %}
    select
        pairs.task,
        pairs.kind,
        pairs.left_id,
        pairs.right_id,
        pairs.label,
        pairs.split,
        -- one side by id or by text each (DuckDB cannot coalesce arrays, so every combination)
        coalesce(
            array_cosine_similarity(l.vector, r.vector), array_cosine_similarity(l.vector, rt.vector),
            array_cosine_similarity(lt.vector, r.vector), array_cosine_similarity(lt.vector, rt.vector)
        ) as similarity,
        coalesce(l.model_version, lt.model_version) as model_version
    from pairs
    left join {{ left }} as l on l.id = pairs.left_id
    left join labelled_texts as lt on pairs.left_id is null and lt.id = {{ content_hash('pairs.text_a') }}
    left join {{ right }} as r on r.id = pairs.right_id
    left join labelled_texts as rt on pairs.right_id is null and rt.id = {{ content_hash('pairs.text_b') }}
    where pairs.task = '{{ task }}'
        and coalesce(r.model_version, rt.model_version) = coalesce(l.model_version, lt.model_version)
    union all
    {%- endfor %}
    select
        pairs.task,
        pairs.kind,
        pairs.left_id,
        pairs.right_id,
        pairs.label,
        pairs.split,
        lookalike_scored.score as similarity,
        lookalike_scored.model_version
    from pairs
    inner join lookalike_scored
        on lookalike_scored.asset_id = pairs.left_id
        and lookalike_scored.reference_id = pairs.right_id
    where pairs.task = 'lookalike'
)

select * from scored
