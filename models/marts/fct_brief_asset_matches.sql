{%- set k = var('brief_match_k') -%}
{%- if k is not number or k < 1 -%}
    {{ exceptions.raise_compiler_error("brief_match_k must be a positive integer; got " ~ k ~ ". Pass e.g. --vars '{brief_match_k: 10}'") }}
{%- endif -%}

with briefs as (
    select * from {{ ref('int_briefs_embedded') }}
),

assets as (
    select * from {{ ref('int_assets_embedded') }}
),

asset_text as (
    select asset_id, text from {{ ref('stg_demo__assets') }}
),

known_matches as (
    select * from {{ ref('stg_demo__brief_matches') }}
),

scored as (
    select
        briefs.brief_id,
        assets.asset_id,
        briefs.brand,
        briefs.market,
        assets.channel,
        assets.asset_type,
        array_cosine_similarity(briefs.vector, assets.vector) as similarity,
        assets.model_version
    from briefs
    inner join assets
        on assets.brand = briefs.brand
        and assets.market = briefs.market
        and assets.model_version = briefs.model_version
),

ranked as (
    select
        *,
        row_number() over (partition by brief_id order by similarity desc, asset_id) as rank
    from scored
    qualify rank <= {{ k }}
),

final as (
    select
        ranked.brief_id,
        ranked.rank,
        ranked.asset_id,
        ranked.similarity,
        known_matches.asset_id is not null as is_known_match,
        ranked.brand,
        ranked.market,
        ranked.channel,
        ranked.asset_type,
        asset_text.text as asset_text,
        ranked.model_version
    from ranked
    left join known_matches
        on known_matches.brief_id = ranked.brief_id
        and known_matches.asset_id = ranked.asset_id
    left join asset_text on asset_text.asset_id = ranked.asset_id
)

select * from final
