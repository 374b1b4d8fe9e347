{#- Approved exceptions to the compliance gate, from the input `compliance_waivers`: one row per
    (asset, reference) a person signed off (none: no rows). -#}
{%- set c = semantic_input_columns('compliance_waivers') %}

with source as (
    select * from {{ semantic_input_source('compliance_waivers') }}
),

final as (
    select
        trim(cast({{ c.get('asset_id', 'null') }} as varchar)) as asset_id,
        trim(cast({{ c.get('reference_id', 'null') }} as varchar)) as reference_id,
        trim(cast({{ c.get('approved_by', 'null') }} as varchar)) as approved_by,
        cast({{ c.get('approved_at', 'null') }} as date) as approved_at,
        trim(cast({{ c.get('reason', 'null') }} as varchar)) as reason
    from source
)

select * from final
where {{ semantic_not_forgotten('asset_id') }}
