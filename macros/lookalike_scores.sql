{#- CTEs scoring (asset, compliance reference) pairs the way the compliance check does: the higher
    of the whole asset's cosine and its closest sentence's (int_asset_sentences_embedded), so one
    rejected claim inside long copy is not diluted by the rest. `pairs` names a CTE with asset_id
    and reference_id; the result is the CTE `lookalike_scored` (asset_id, reference_id,
    similarity, matched_sentence_id when a sentence scored higher, model_version, and with
    `adjusted` the reference's typicality and the score the thresholds apply to; see
    lookalike_combined).
    Used by int_similarity_labelled; int_compliance_candidates computes the same score with
    lookalike_scores_for_assets, so the thresholds are calibrated on the score they are applied to. -#}
{% macro lookalike_scores(pairs, adjusted=true) -%}
lookalike_whole as (
    select
        p.asset_id,
        p.reference_id,
        array_cosine_similarity(a.vector, r.vector) as similarity,
        a.model_version
    from {{ pairs }} as p
    inner join {{ ref('int_assets_embedded') }} as a on a.asset_id = p.asset_id
    inner join {{ ref('int_compliance_references_embedded') }} as r
        on r.reference_id = p.reference_id
        and r.model_version = a.model_version
),

lookalike_sentences as (
    select
        p.asset_id,
        p.reference_id,
        max(array_cosine_similarity(s.vector, r.vector)) as similarity,
        arg_max(s.sentence_id, array_cosine_similarity(s.vector, r.vector)) as sentence_id
    from {{ pairs }} as p
    inner join {{ ref('int_asset_sentences_embedded') }} as s on s.asset_id = p.asset_id
    inner join {{ ref('int_compliance_references_embedded') }} as r
        on r.reference_id = p.reference_id
        and r.model_version = s.model_version
    group by p.asset_id, p.reference_id
),

{{ lookalike_combined(adjusted) }}
{%- endmacro %}


{#- The same score (lookalike_scores) for every asset of the CTE `assets` (asset_id, market,
    model_version, vector) against every active reference that applies to its market or to ALL
    (every reference, for an asset of market ALL):
    the CTE `references_embedded` (the active references) must exist. Written so that DuckDB
    streams the assets and their sentences past the small reference table instead of joining
    pairs to vectors: at 100,000 assets (543,000 sentences) the pairs form peaked at 7 GB, this
    one stays near 1 GB. The result is the CTE `lookalike_scored`, as in lookalike_scores. -#}
{% macro lookalike_scores_for_assets(assets, adjusted=true) -%}
applicable_references as (
    select markets.market as applies_to, r.reference_id, r.model_version, r.vector
    from references_embedded as r
    inner join (select distinct market from {{ assets }}) as markets
        -- an asset of market ALL (or without a market) runs everywhere: every reference applies
        on r.market = markets.market or r.market = 'ALL' or markets.market = 'ALL'
),

lookalike_whole as (
    select
        a.asset_id,
        r.reference_id,
        array_cosine_similarity(a.vector, r.vector) as similarity,
        a.model_version
    from {{ assets }} as a
    inner join applicable_references as r
        on r.applies_to = a.market
        and r.model_version = a.model_version
),

lookalike_sentences as (
    select
        s.asset_id,
        r.reference_id,
        max(array_cosine_similarity(s.vector, r.vector)) as similarity,
        arg_max(s.sentence_id, array_cosine_similarity(s.vector, r.vector)) as sentence_id
    from {{ ref('int_asset_sentences_embedded') }} as s
    inner join applicable_references as r
        on r.applies_to = s.market
        and r.model_version = s.model_version
    where s.asset_id in (select asset_id from {{ assets }})
    group by s.asset_id, r.reference_id
),

{{ lookalike_combined(adjusted) }}
{%- endmacro %}


{#- The score itself, shared by both macros above: the higher of the whole asset's cosine
    (CTE lookalike_whole) and its closest sentence's (CTE lookalike_sentences), remembering the
    sentence when it scored higher. With `adjusted`, also the reference's typicality
    (int_compliance_reference_typicality) and the score the lookalike thresholds, probabilities
    and ranks use: similarity - lookalike_typicality_weight * typicality, so a generic claim needs
    a closer match than a specific one. -#}
{% macro lookalike_combined(adjusted=true) -%}
{%- set weight = var('lookalike_typicality_weight') -%}
{%- if adjusted and (weight is not number or weight < 0 or weight > 1) -%}
    {{ exceptions.raise_compiler_error("lookalike_typicality_weight must be a number in [0, 1] (0 turns the typicality adjustment off); got " ~ weight) }}
{%- endif %}
lookalike_best_unit as (
    select
        w.asset_id,
        w.reference_id,
        greatest(w.similarity, coalesce(s.similarity, -1)) as similarity,
        case when s.similarity > w.similarity then s.sentence_id end as matched_sentence_id,
        w.model_version
    from lookalike_whole as w
    left join lookalike_sentences as s
        on s.asset_id = w.asset_id
        and s.reference_id = w.reference_id
),

lookalike_scored as (
    {%- if adjusted %}
    select
        u.*,
        coalesce(t.typicality, 0.0) as typicality,
        u.similarity - {{ weight }} * coalesce(t.typicality, 0.0) as score
    from lookalike_best_unit as u
    left join {{ ref('int_compliance_reference_typicality') }} as t
        on t.reference_id = u.reference_id
        and t.model_version = u.model_version
    {%- else %}
    select * from lookalike_best_unit
    {%- endif %}
)
{%- endmacro %}
