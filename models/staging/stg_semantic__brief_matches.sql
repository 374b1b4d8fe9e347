{#- One row per (brief, asset) pair of the input `brief_matches` known to serve the brief. -#}
{%- set c = semantic_input_columns('brief_matches') %}

with source as (
    select * from {{ semantic_input_source('brief_matches') }}
),

final as (
    select distinct
        trim(cast({{ c.get('brief_id', 'null') }} as varchar)) as brief_id,
        trim(cast({{ c.get('asset_id', 'null') }} as varchar)) as asset_id
    from source
)

select * from final
where {{ semantic_not_forgotten('asset_id') }}
