with versions as (
    select * from {{ ref('int_encoder_versions_trained') }}
),

vectors as (
    select model_version, count(*) as n_asset_vectors
    from {{ ref('int_assets_embedded') }}
    group by 1
),

final as (
    select
        versions.version,
        versions.model_version,
        versions.is_active,
        versions.created_at,
        versions.loss,
        versions.epochs,
        versions.data_hash,
        versions.guard_passed,
        versions.mean_random_cosine,
        versions.effective_rank,
        versions.valid_ap,
        versions.base_agreement,
        coalesce(vectors.n_asset_vectors, 0) as n_asset_vectors,
        versions.path
    from versions
    left join vectors using (model_version)
)

select * from final
