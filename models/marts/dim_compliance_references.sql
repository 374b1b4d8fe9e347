{#- The bank of claims compliance rejected: what every asset is checked against. -#}
with references_source as (
    select * from {{ ref('stg_semantic__compliance_references') }}
),

final as (
    select
        reference_id,
        rule_id,
        regulation,
        market,
        severity,
        case severity when 'low' then 1 when 'medium' then 2 when 'high' then 3 when 'critical' then 4 end
            as severity_rank,
        text as claim_text,
        rationale,
        is_active,
        added_at
    from references_source
)

select * from final
