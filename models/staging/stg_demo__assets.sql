{#- A table, not a view: the text normalisation (HTML stripped, whitespace collapsed) and its hash
    feed six nodes of each build (embeddings, their clean-up hook, sentences, clusters, compliance). -#}
{{ config(materialized='fingerprinted_table') }}

with source as (
    select * from {{ ref('demo_assets') }}
),

renamed as (
    select
        trim(asset_id) as asset_id,
        trim(campaign_id) as campaign_id,
        trim(brand) as brand,
        trim(product) as product,
        lower(trim(channel)) as channel,
        upper(trim(market)) as market,
        lower(trim(asset_type)) as asset_type,
        created_at,
        {{ normalize_text('text') }} as text
    from source
),

final as (
    select
        *,
        {{ content_hash('text') }} as content_hash
    from renamed
)

select * from final
