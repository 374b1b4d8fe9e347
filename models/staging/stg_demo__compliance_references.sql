with source as (
    select * from {{ ref('demo_compliance_references') }}
),

renamed as (
    select
        trim(reference_id) as reference_id,
        trim(rule_id) as rule_id,
        trim(regulation) as regulation,
        lower(trim(severity)) as severity,
        upper(trim(market)) as market,
        {{ normalize_text('claim_text') }} as text,
        trim(rationale) as rationale,
        coalesce(active, true) as is_active,
        added_at
    from source
),

final as (
    select
        *,
        {{ content_hash('text') }} as content_hash
    from renamed
)

select * from final
