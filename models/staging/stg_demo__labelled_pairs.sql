with source as (
    select * from {{ ref('demo_labelled_pairs') }}
),

final as (
    select
        trim(left_id) as left_id,
        trim(right_id) as right_id,
        lower(trim(task)) as task,
        lower(trim(kind)) as kind,
        label,
        lower(trim(split)) as split,
        trim(group_id) as group_id
    from source
)

select * from final
