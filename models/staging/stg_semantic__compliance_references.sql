{#- One row per rejected claim of the input `compliance_references` (none: no rows, so the
    compliance models are empty and the gate passes); severity high and market ALL when absent. -#}
{%- set c = semantic_input_columns('compliance_references') %}

with source as (
    select * from {{ semantic_input_source('compliance_references') }}
),

renamed as (
    select
        trim(cast({{ c.get('reference_id', 'null') }} as varchar)) as reference_id,
        trim(cast({{ c.get('rule_id', 'null') }} as varchar)) as rule_id,
        trim(cast({{ c.get('regulation', 'null') }} as varchar)) as regulation,
        coalesce(lower(trim(cast({{ c.get('severity', 'null') }} as varchar))), 'high') as severity,
        coalesce(upper(trim(cast({{ c.get('market', 'null') }} as varchar))), 'ALL') as market,
        {{ normalize_text('cast(' ~ c.get('claim_text', 'null') ~ ' as varchar)') }} as text,
        trim(cast({{ c.get('rationale', 'null') }} as varchar)) as rationale,
        coalesce(try_cast(trim(cast({{ c.get('active', 'null') }} as varchar)) as boolean), true) as is_active,
        cast({{ c.get('added_at', 'null') }} as date) as added_at
    from source
),

final as (
    select
        *,
        {{ content_hash('text') }} as content_hash
    from renamed
)

select * from final
