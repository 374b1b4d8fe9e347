{#- Approved exceptions to the compliance gate: one row per (asset, reference) a person signed off. -#}
with source as (
    select * from {{ ref('compliance_waivers') }}
),

final as (
    select
        trim(asset_id) as asset_id,
        trim(reference_id) as reference_id,
        trim(approved_by) as approved_by,
        approved_at,
        trim(reason) as reason
    from source
)

select * from final
