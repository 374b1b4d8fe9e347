{#- How much each active compliance reference looks like ordinary copy: the mean lookalike score
    (macro lookalike_scores_for_assets: an asset's whole text or its closest sentence) of its
    lookalike_typicality_k nearest assets among those it applies to. A short, generic claim
    ("Offer ends at midnight tonight") sits near hundreds of harmless assets; a specific one ("Your
    money is 100% protected, always") near few. The compliance score subtracts
    lookalike_typicality_weight times this (macro lookalike_combined), so a generic claim needs a
    closer match before it flags: hubness reduction, as in CSLS (Conneau et al., 2018).
    Incremental and stable: a reference's value is measured once, on the assets embedded when it is
    new, reworded, moved to another market or embedded by another model version (or when
    lookalike_typicality_k changes), and then kept, so new assets do not shift every score (a
    reference measured on fewer than k assets is measured again once more assets apply to it). -#}
{{ config(
    materialized='incremental',
    unique_key='reference_id',
    incremental_strategy='delete+insert',
    post_hook="delete from {{ this }} where reference_id not in (select reference_id from {{ ref('int_compliance_references_embedded') }} where is_active)",
) }}
{%- set k = var('lookalike_typicality_k') -%}
{%- if k is not number or k < 1 -%}
    {{ exceptions.raise_compiler_error("lookalike_typicality_k must be a positive integer; got " ~ k) }}
{%- endif %}

with references_embedded as (
    select r.* from {{ ref('int_compliance_references_embedded') }} as r
    where r.is_active
    {%- if is_incremental() %}
        and not exists (
            select 1 from {{ this }} as kept
            where kept.reference_id = r.reference_id
                and kept.content_hash = r.content_hash
                and kept.market = r.market
                and kept.model_version = r.model_version
                and kept.typicality_k = {{ k }}
                and (  -- measured on fewer assets than k: measure again once more apply
                    kept.n_assets >= {{ k }}
                    or kept.n_assets >= (
                        select count(*) from {{ ref('int_assets_embedded') }} as a
                        where a.model_version = r.model_version and (r.market = 'ALL' or a.market = r.market or a.market = 'ALL')
                    )
                )
        )
    {%- endif %}
),

assets as (
    select asset_id, market, model_version, vector from {{ ref('int_assets_embedded') }}
),

{{ lookalike_scores_for_assets('assets', adjusted=false) }},

nearest as (
    select reference_id, model_version, similarity
    from lookalike_scored
    qualify row_number() over (partition by reference_id order by similarity desc, asset_id) <= {{ k }}
),

measured as (
    select reference_id, avg(similarity) as typicality, count(*) as n_assets
    from nearest
    group by reference_id
),

final as (
    select
        r.reference_id,
        r.content_hash,
        r.market,
        r.model_version,
        coalesce(measured.typicality, 0.0) as typicality,
        coalesce(measured.n_assets, 0) as n_assets,
        {{ k }} as typicality_k,
        timezone('UTC', current_timestamp) as measured_at
    from references_embedded as r
    left join measured on measured.reference_id = r.reference_id
)

select * from final
