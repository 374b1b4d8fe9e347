{#- A table, not a view: the text normalisation runs once per change instead of on each of the
    four reads per build (embedding, its clean-up hook, training pairs, fingerprints). -#}
{{ config(materialized='fingerprinted_table') }}

with source as (
    select * from {{ ref('demo_briefs') }}
),

renamed as (
    select
        trim(brief_id) as brief_id,
        trim(campaign_id) as campaign_id,
        trim(brand) as brand,
        upper(trim(market)) as market,
        trim(product) as product,
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
