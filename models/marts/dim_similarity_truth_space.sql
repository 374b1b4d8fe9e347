-- The truth-space table behind each calibrated threshold, for audits: at each candidate threshold,
-- how many labelled pairs would be true/false positives/negatives, and the precision, recall and F1.
with thresholds as (
    select task, model_version, threshold as chosen_threshold, truth_space
    from {{ ref('dim_similarity_thresholds') }}
),

unnested as (
    select task, model_version, chosen_threshold, unnest(truth_space, recursive := true)
    from thresholds
),

final as (
    select
        task,
        model_version,
        threshold,
        tp,
        fp,
        fn,
        tn,
        precision,
        recall,
        f1,
        threshold = chosen_threshold as is_chosen
    from unnested
)

select * from final
