{#- Each asset's top lookalike_top_k active compliance references that apply to its market (or ALL),
    by the lookalike score (the whole asset's cosine or its closest sentence's, less the weighted
    typicality of the reference; macro lookalike_scores_for_assets, the same score as
    lookalike_scores). Incremental: only assets embedded since the last check, or whose market
    changed, are compared, unless the reference bank changed (its fingerprint over every active
    reference's id, text hash, market, model version and typicality, and the typicality weight: a
    reference added, removed, deactivated, reworded or moved to another market), which re-checks
    every asset. A column added by an
    upgrade is NULL on the old rows, which also re-checks every asset. -#}
{{ config(
    materialized='incremental',
    unique_key='asset_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
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
    select
        count(*) as n_references,
        md5('{{ var("lookalike_typicality_weight") }}' || coalesce(string_agg(
            concat_ws('|', r.reference_id, r.content_hash, r.market, r.model_version, round(t.typicality, 6)),
            ',' order by r.reference_id
        ), '')) as bank_fingerprint
    from references_embedded as r
    left join {{ ref('int_compliance_reference_typicality') }} as t
        on t.reference_id = r.reference_id
        and t.model_version = r.model_version
),

{%- set upgraded = false -%}
{%- if is_incremental() -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {#- a table built before these columns existed: check every asset once (they are appended) -#}
    {%- set upgraded = 'asset_market' not in existing or 'bank_fingerprint' not in existing or 'score' not in existing -%}
{%- endif %}

assets as (
    select assets.* from {{ ref('int_assets_embedded') }} as assets
    {%- if is_incremental() and not upgraded %}
    where assets.embedded_at > (select coalesce(max(checked_at), timestamp '1970-01-01') from {{ this }})
        or assets.asset_id not in (select asset_id from {{ this }})
        or assets.asset_id in (
            select checked.asset_id from {{ this }} as checked
            where checked.asset_market is distinct from (
                select now_.market from {{ ref('int_assets_embedded') }} as now_ where now_.asset_id = checked.asset_id
            )
        )
        or (select bank_fingerprint from bank) is distinct from (select max(bank_fingerprint) from {{ this }})
        or (select count(distinct bank_fingerprint) from {{ this }}) > 1
    {%- endif %}
),

{{ lookalike_scores_for_assets('assets') }},

ranked as (
    select
        *,
        row_number() over (partition by asset_id order by score desc, reference_id) as rank
    from lookalike_scored
    qualify rank <= {{ k }}
),

final as (
    select
        ranked.*,
        assets.market as asset_market,
        (select n_references from bank) as n_references,
        (select bank_fingerprint from bank) as bank_fingerprint,
        timezone('UTC', current_timestamp) as checked_at
    from ranked
    inner join assets on assets.asset_id = ranked.asset_id
)

select * from final
