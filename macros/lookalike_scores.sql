{#- CTEs scoring (asset, compliance reference) pairs the way the compliance check does: the higher
    of the whole asset's cosine and its closest sentence's (int_asset_sentences_embedded), so one
    rejected claim inside long copy is not diluted by the rest. `pairs` names a CTE with asset_id
    and reference_id; the result is the CTE `lookalike_scored` (asset_id, reference_id,
    similarity, matched_sentence_id when a sentence scored higher, model_version).
    Used by int_compliance_candidates and int_similarity_labelled, so the thresholds are
    calibrated on exactly the score they are applied to. -#}
{% macro lookalike_scores(pairs) -%}
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

lookalike_scored as (
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
)
{%- endmacro %}
