{#- One row per brief of the input `briefs` (var semantic_input_briefs; none: no rows), text
    normalised, with its content_hash. A table, not a view: the text normalisation runs once per
    change instead of on each of the four reads per build (embedding, its clean-up hook, training
    pairs, fingerprints). -#}
{#- only this input's row of stg_semantic__inputs counts for its fingerprint -#}
{{ config(materialized='fingerprinted_table', meta={'fingerprint_where': {'stg_semantic__inputs': "input_name = 'briefs'"}}) }}
{%- set c = semantic_input_columns('briefs') %}

with source as (
    select * from {{ semantic_input_source('briefs') }}
),

renamed as (
    select
        trim(cast({{ c.get('brief_id', 'null') }} as varchar)) as brief_id,
        trim(cast({{ c.get('campaign_id', 'null') }} as varchar)) as campaign_id,
        trim(cast({{ c.get('brand', 'null') }} as varchar)) as brand,
        coalesce(upper(trim(cast({{ c.get('market', 'null') }} as varchar))), 'ALL') as market,
        trim(cast({{ c.get('product', 'null') }} as varchar)) as product,
        {{ normalize_text('cast(' ~ c.get('text', 'null') ~ ' as varchar)') }} as text
    from source
),

final as (
    select
        *,
        {{ content_hash('text') }} as content_hash
    from renamed
)

select * from final
