{#- Pairs of near-duplicate assets: candidates from the LanceDB index (int_asset_neighbours),
    rescored on the current vectors, kept at or above the calibrated `duplicate` threshold of
    dim_similarity_thresholds (or near_duplicate_threshold when set), with the calibrated
    probability from dim_similarity_calibration_curve. -#}
{%- set override = var('near_duplicate_threshold') -%}
{%- set block_on = var('near_duplicate_block_on') -%}
{%- if override is not none and (override is not number or override < -1 or override > 1) -%}
    {{ exceptions.raise_compiler_error("near_duplicate_threshold must be null (use the calibrated threshold) or a cosine similarity in [-1, 1]; got " ~ override) }}
{%- endif -%}
{%- set threshold_sql = override if override is not none else 'thresholds.threshold' -%}
{%- if block_on not in ['brand', 'market', 'channel', 'asset_type', 'campaign_id', none, 'none'] -%}
    {{ exceptions.raise_compiler_error("near_duplicate_block_on must be one of brand, market, channel, asset_type, campaign_id or none; got " ~ block_on) }}
{%- endif -%}

with neighbours as (
    select asset_id, neighbour_id from {{ ref('int_asset_neighbours') }}
    where neighbour_id is not null
),

candidate_pairs as (
    select distinct
        least(asset_id, neighbour_id) as asset_id_a,
        greatest(asset_id, neighbour_id) as asset_id_b
    from neighbours
),

assets as (
    select * from {{ ref('int_assets_embedded') }}
),

asset_text as (
    select asset_id, text from {{ ref('stg_demo__assets') }}
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

scored as (
    select
        candidate_pairs.asset_id_a,
        candidate_pairs.asset_id_b,
        array_cosine_similarity(a.vector, b.vector) as similarity,
        a.brand,
        a.model_version
    from candidate_pairs
    inner join assets as a on a.asset_id = candidate_pairs.asset_id_a
    inner join assets as b
        on b.asset_id = candidate_pairs.asset_id_b
        and b.model_version = a.model_version
        {%- if block_on not in [none, 'none'] %}
        and b.{{ block_on }} = a.{{ block_on }}
        {%- endif %}
),

above_threshold as (
    select
        scored.*,
        {{ threshold_sql }} as threshold,
        {% if override is not none -%} 'var' {%- else -%} case when thresholds.is_fallback then 'fallback' else 'calibrated' end {%- endif %} as threshold_source
    from scored
    left join thresholds on thresholds.model_version = scored.model_version
    where scored.similarity >= {{ threshold_sql }}
),

final as (
    select
        above_threshold.asset_id_a,
        above_threshold.asset_id_b,
        above_threshold.similarity,
        {{ calibrated_probability('above_threshold.similarity', 'curve') }} as match_probability,
        above_threshold.threshold,
        above_threshold.threshold_source,
        above_threshold.brand,
        text_a.text as text_a,
        text_b.text as text_b,
        above_threshold.model_version
    from above_threshold
    left join curve
        on {{ calibration_segment_join('above_threshold.similarity', 'duplicate', 'above_threshold.model_version', 'curve') }}
    left join asset_text as text_a on text_a.asset_id = above_threshold.asset_id_a
    left join asset_text as text_b on text_b.asset_id = above_threshold.asset_id_b
)

select * from final
