-- The probability curves of dim_similarity_thresholds as piecewise-linear segments
-- [x0, x1) -> [y0, y1], with flat segments below the first and above the last breakpoint: what
-- the persisted macro match_probability(similarity, task) interpolates, so BI tools get the same
-- probability as semantic_match_probability in Python.
with thresholds as (
    select task, model_version, curve_x, curve_y from {{ ref('dim_similarity_thresholds') }}
),

points as (
    select
        task,
        model_version,
        unnest(curve_x) as x,
        unnest(curve_y) as y,
        unnest(range(1, len(curve_x) + 1)) as point
    from thresholds
),

segments as (
    select
        task,
        model_version,
        point,
        coalesce(lag(x) over w, -1e9) as x0,
        x as x1,
        coalesce(lag(y) over w, y) as y0,
        y as y1
    from points
    window w as (partition by task, model_version order by point)
),

last_point as (
    select task, model_version, point + 1 as point, x as x0, 1e9 as x1, y as y0, y as y1
    from points
    qualify row_number() over (partition by task, model_version order by point desc) = 1
),

final as (
    select * from segments
    union all
    select * from last_point
)

select * from final
