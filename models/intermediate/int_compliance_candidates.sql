{#- Each asset's top lookalike_top_k active compliance references that apply to its market (or ALL),
    by the lookalike score (the whole asset's cosine or its closest sentence's; macro
    lookalike_scores). Incremental: only assets embedded since the last check are compared,
    unless the reference bank changed (a reference embedded since, or a different number of active
    references), which re-checks every asset. -#}
{{ config(
    materialized='incremental',
    unique_key='asset_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="delete from {{ this }} where asset_id not in (select asset_id from {{ ref('int_assets_embedded') }})",
) }}
{%- set k = var('lookalike_top_k') -%}
{%- if k is not number or k < 1 -%}
    {{ exceptions.raise_compiler_error("lookalike_top_k must be a positive integer; got " ~ k) }}
{%- endif %}

with references_embedded as (
    select * from {{ ref('int_compliance_references_embedded') }}
    where is_active
),

bank as (
    select count(*) as n_references, max(embedded_at) as changed_at from references_embedded
),

assets as (
    select assets.* from {{ ref('int_assets_embedded') }} as assets
    {%- if is_incremental() %}
    where assets.embedded_at > (select coalesce(max(checked_at), timestamp '1970-01-01') from {{ this }})
        or assets.asset_id not in (select asset_id from {{ this }})
        or (select changed_at from bank) > (select max(checked_at) from {{ this }})
        or (select n_references from bank) is distinct from (select max(n_references) from {{ this }})
    {%- endif %}
),

pairs as (
    select assets.asset_id, references_embedded.reference_id
    from assets
    inner join references_embedded
        on (references_embedded.market = assets.market or references_embedded.market = 'ALL')
        and references_embedded.model_version = assets.model_version
),

{{ lookalike_scores('pairs') }},

ranked as (
    select
        *,
        row_number() over (partition by asset_id order by similarity desc, reference_id) as rank
    from lookalike_scored
    qualify rank <= {{ k }}
),

final as (
    select
        ranked.*,
        (select n_references from bank) as n_references,
        timezone('UTC', current_timestamp) as checked_at
    from ranked
)

select * from final
