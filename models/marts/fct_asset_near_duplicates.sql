{#- Pairs of near-duplicate assets: the candidates from the LanceDB index (int_duplicate_candidates)
    that the pair decision accepts (int_duplicate_pair_scores, scorer `decision`), or, where the
    labels are too few for a decision, near_duplicate_scorer is cosine or near_duplicate_threshold
    is set, whose cosine reaches the calibrated `duplicate` threshold of dim_similarity_thresholds
    (or the var), with the calibrated probability of whichever score decided. reranker_version names
    the pair reranker that scored a pair in the decision's uncertainty band. -#}
{%- set override = var('near_duplicate_threshold') -%}
{%- if override is not none and (override is not number or override < -1 or override > 1) -%}
    {{ exceptions.raise_compiler_error("near_duplicate_threshold must be null (use the calibrated threshold) or a cosine similarity in [-1, 1]; got " ~ override) }}
{%- endif -%}
{%- set threshold_sql = override if override is not none else 'thresholds.threshold' -%}

with pairs as (
    select * from {{ ref('int_duplicate_pair_scores') }}
),

thresholds as (
    select model_version, threshold, is_fallback
    from {{ ref('dim_similarity_thresholds') }}
    where task = 'duplicate'
),

curve as (
    select * from {{ ref('dim_similarity_calibration_curve') }}
    where task = 'duplicate'
),

asset_text as (
    select asset_id, text from {{ ref('stg_semantic__assets') }}
),

by_decision as (
    select
        pairs.*,
        pairs.decision_probability as match_probability,
        pairs.decision_threshold as threshold,
        'decision' as threshold_source
    from pairs
    where pairs.scorer = 'decision'
        and pairs.decision_score >= pairs.decision_threshold
        {%- if override is not none %}
        and false  -- near_duplicate_threshold set: the cosine decides
        {%- endif %}
),

by_cosine as (
    select
        pairs.*,
        {{ threshold_sql }} as threshold,
        {% if override is not none -%} 'var' {%- else -%} case when thresholds.is_fallback then 'fallback' else 'calibrated' end {%- endif %} as threshold_source
    from pairs
    left join thresholds on thresholds.model_version = pairs.model_version
    where pairs.similarity >= {{ threshold_sql }}
        {%- if override is none %}
        and pairs.scorer = 'cosine'
        {%- endif %}
),

by_cosine_with_probability as (
    select
        by_cosine.*,
        {{ calibrated_probability('by_cosine.similarity', 'curve') }} as match_probability
    from by_cosine
    left join curve
        on {{ calibration_segment_join('by_cosine.similarity', 'duplicate', 'by_cosine.model_version', 'curve') }}
),

accepted as (
    select asset_id_a, asset_id_b, similarity, match_probability, threshold, threshold_source,
        lexical_similarity, shares_identifier, identifier_conflict, decision_score,
        reranker_score, reranker_version, brand, model_version
    from by_decision
    union all
    select asset_id_a, asset_id_b, similarity, match_probability, threshold, threshold_source,
        lexical_similarity, shares_identifier, identifier_conflict, decision_score,
        reranker_score, reranker_version, brand, model_version
    from by_cosine_with_probability
),

final as (
    select
        accepted.asset_id_a,
        accepted.asset_id_b,
        accepted.similarity,
        accepted.match_probability,
        accepted.threshold,
        accepted.threshold_source,
        accepted.lexical_similarity,
        accepted.shares_identifier,
        accepted.identifier_conflict,
        accepted.decision_score,
        accepted.reranker_score,
        accepted.reranker_version,
        accepted.brand,
        text_a.text as text_a,
        text_b.text as text_b,
        accepted.model_version
    from accepted
    left join asset_text as text_a on text_a.asset_id = accepted.asset_id_a
    left join asset_text as text_b on text_b.asset_id = accepted.asset_id_b
)

select * from final
