{#- One row per asset of the input `assets` (var semantic_input_assets, columns mapped by
    semantic_columns_assets), in the contract's names: text normalised (HTML stripped, whitespace
    collapsed, blank text as NULL), content_hash = md5 of it, absent optional columns at their
    defaults (semantic/warehouse/contract.yml). A table, not a view: the normalisation and its hash feed six
    nodes of each build (embeddings, their clean-up hook, sentences, clusters, compliance). -#}
{#- only this input's row of stg_semantic__inputs counts for its fingerprint -#}
{{ config(materialized='fingerprinted_table', meta={'fingerprint_where': {'stg_semantic__inputs': "input_name = 'assets'"}}) }}
{%- set c = semantic_input_columns('assets') %}

with source as (
    select * from {{ semantic_input_source('assets') }}
),

renamed as (
    select
        trim(cast({{ c.get('asset_id', 'null') }} as varchar)) as asset_id,
        trim(cast({{ c.get('campaign_id', 'null') }} as varchar)) as campaign_id,
        trim(cast({{ c.get('brand', 'null') }} as varchar)) as brand,
        trim(cast({{ c.get('product', 'null') }} as varchar)) as product,
        lower(trim(cast({{ c.get('channel', 'null') }} as varchar))) as channel,
        coalesce(upper(trim(cast({{ c.get('market', 'null') }} as varchar))), 'ALL') as market,
        lower(trim(cast({{ c.get('asset_type', 'null') }} as varchar))) as asset_type,
        cast({{ c.get('created_at', 'null') }} as date) as created_at,
        {{ normalize_text('cast(' ~ c.get('text', 'null') ~ ' as varchar)') }} as text
    from source
),

final as (
    select
        *,
        {{ content_hash('text') }} as content_hash
    from renamed
    where {{ semantic_not_forgotten('asset_id') }}
)

select * from final
