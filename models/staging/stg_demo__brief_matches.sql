with source as (
    select * from {{ ref('demo_brief_matches') }}
),

final as (
    select distinct
        trim(brief_id) as brief_id,
        trim(asset_id) as asset_id
    from source
)

select * from final
