{#- Near-duplicate candidate pairs, one row per unordered pair: each asset's LanceDB neighbours
    (int_asset_neighbours), rescored on the current vectors (an unchanged asset's stored neighbour
    may have been re-embedded since), within near_duplicate_block_on. Scored by
    int_duplicate_pair_scores and thresholded in fct_asset_near_duplicates. -#}
{%- set block_on = var('near_duplicate_block_on') -%}
{%- if block_on not in ['brand', 'market', 'channel', 'asset_type', 'campaign_id', none, 'none'] -%}
    {{ exceptions.raise_compiler_error("near_duplicate_block_on must be one of brand, market, channel, asset_type, campaign_id or none; got " ~ block_on) }}
{%- endif -%}

with neighbours as (
    select asset_id, neighbour_id from {{ ref('int_asset_neighbours') }}
    where neighbour_id is not null
),

candidate_pairs as (
    select distinct
        least(asset_id, neighbour_id) as asset_id_a,
        greatest(asset_id, neighbour_id) as asset_id_b
    from neighbours
),

assets as (
    select * from {{ ref('int_assets_embedded') }}
),

scored as (
    select
        candidate_pairs.asset_id_a,
        candidate_pairs.asset_id_b,
        array_cosine_similarity(a.vector, b.vector) as similarity,
        a.brand,
        a.content_hash as content_hash_a,
        b.content_hash as content_hash_b,
        a.model_version
    from candidate_pairs
    inner join assets as a on a.asset_id = candidate_pairs.asset_id_a
    inner join assets as b
        on b.asset_id = candidate_pairs.asset_id_b
        and b.model_version = a.model_version
        {%- if block_on not in [none, 'none'] %}
        -- assets without a value (an absent brand column) form one block of their own
        and b.{{ block_on }} is not distinct from a.{{ block_on }}
        {%- endif %}
),

final as (
    select asset_id_a, asset_id_b, similarity, brand, content_hash_a, content_hash_b, model_version
    from scored
)

select * from final
