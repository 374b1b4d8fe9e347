{#- One row per labelled pair of the calibration splits with the score its task's threshold applies
    to under the active encoder: the cosine similarity, and for lookalikes the compliance check's
    score (macro lookalike_scores: the best unit's cosine less the reference's weighted
    typicality). What dim_similarity_thresholds fits its thresholds and probabilities on. -#}
{%- set splits = var('calibration_splits') -%}
with pairs as (
    select * from {{ ref('stg_demo__labelled_pairs') }}
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
        array_cosine_similarity(l.vector, r.vector) as similarity,
        l.model_version
    from pairs
    inner join {{ left }} as l on l.id = pairs.left_id
    inner join {{ right }} as r on r.id = pairs.right_id and r.model_version = l.model_version
    where pairs.task = '{{ task }}'
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
