{%- set override = var('lookalike_threshold') -%}
{%- if override is not none and (override is not number or override < -1 or override > 1) -%}
    {{ exceptions.raise_compiler_error("lookalike_threshold must be null (use the calibrated threshold) or a cosine similarity in [-1, 1]; got " ~ override) }}
{%- endif -%}

with assets as (
    select * from {{ ref('int_assets_embedded') }}
),

references_embedded as (
    select * from {{ ref('int_compliance_references_embedded') }}
    where is_active
),

reference_text as (
    select reference_id, regulation, text as claim_text, rationale
    from {{ ref('stg_demo__compliance_references') }}
),

thresholds as (
    select model_version, threshold from {{ ref('dim_similarity_thresholds') }}
    where task = 'lookalike'
),

curve as (
    select * from {{ ref('dim_similarity_calibration_curve') }}
    where task = 'lookalike'
),

asset_text as (
    select asset_id, text from {{ ref('stg_demo__assets') }}
),

scored as (
    select
        assets.asset_id,
        assets.market,
        references_embedded.reference_id,
        references_embedded.rule_id,
        references_embedded.severity,
        array_cosine_similarity(assets.vector, references_embedded.vector) as similarity,
        assets.model_version
    from assets
    inner join references_embedded
        on (references_embedded.market = assets.market or references_embedded.market = 'ALL')
        and references_embedded.model_version = assets.model_version
),

nearest as (
    select * from scored
    qualify row_number() over (partition by asset_id order by similarity desc, reference_id) = 1
),

final as (
    select
        nearest.asset_id,
        nearest.market,
        nearest.reference_id,
        nearest.rule_id,
        nearest.severity,
        reference_text.regulation,
        nearest.similarity,
        {{ calibrated_probability('nearest.similarity', 'curve') }} as match_probability,
        {% if override is not none -%} {{ override }} {%- else -%} thresholds.threshold {%- endif %} as threshold,
        nearest.similarity >= {% if override is not none -%} {{ override }} {%- else -%} thresholds.threshold {%- endif %} as is_flagged,
        asset_text.text as asset_text,
        reference_text.claim_text,
        reference_text.rationale,
        nearest.model_version
    from nearest
    left join thresholds on thresholds.model_version = nearest.model_version
    left join curve
        on {{ calibration_segment_join('nearest.similarity', 'lookalike', 'nearest.model_version', 'curve') }}
    left join reference_text on reference_text.reference_id = nearest.reference_id
    left join asset_text on asset_text.asset_id = nearest.asset_id
)

select * from final
