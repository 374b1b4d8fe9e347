{%- set threshold = var('near_duplicate_threshold') -%}
{%- set block_on = var('near_duplicate_block_on') -%}
{%- if threshold is not number or threshold < -1 or threshold > 1 -%}
    {{ exceptions.raise_compiler_error("near_duplicate_threshold must be a cosine similarity in [-1, 1]; got " ~ threshold) }}
{%- endif -%}
{%- if block_on not in ['brand', 'market', 'channel', 'asset_type', 'campaign_id', none, 'none'] -%}
    {{ exceptions.raise_compiler_error("near_duplicate_block_on must be one of brand, market, channel, asset_type, campaign_id or none; got " ~ block_on) }}
{%- endif -%}

with assets as (
    select * from {{ ref('int_assets_embedded') }}
),

asset_text as (
    select asset_id, text from {{ ref('stg_demo__assets') }}
),

pairs as (
    select
        a.asset_id as asset_id_a,
        b.asset_id as asset_id_b,
        array_cosine_similarity(a.vector, b.vector) as similarity,
        a.brand,
        a.model_version
    from assets as a
    inner join assets as b
        on a.asset_id < b.asset_id
        and a.model_version = b.model_version
        {%- if block_on not in [none, 'none'] %}
        and a.{{ block_on }} = b.{{ block_on }}
        {%- endif %}
),

above_threshold as (
    select * from pairs
    where similarity >= {{ threshold }}
),

final as (
    select
        above_threshold.asset_id_a,
        above_threshold.asset_id_b,
        above_threshold.similarity,
        above_threshold.brand,
        text_a.text as text_a,
        text_b.text as text_b,
        above_threshold.model_version
    from above_threshold
    left join asset_text as text_a on text_a.asset_id = above_threshold.asset_id_a
    left join asset_text as text_b on text_b.asset_id = above_threshold.asset_id_b
)

select * from final
