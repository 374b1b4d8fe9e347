{#- Label health: one row per contradiction among the labels, with the texts beside it.
    - labelled_both_ways: a pair labelled 1 and 0, by the input labelled_pairs and the reviewers'
      decisions together (label_kept is what the build trains on: the latest decision, else the input's
      label when they disagree among themselves, NULL);
    - duplicate_triangle: three assets whose kept duplicate labels cannot all be true: A = B and B = C,
      but A != C (id_b is the shared one).
    Resolve one with `semantic label` on the pair that is wrong; the row leaves at the next build. -#}

with labelled as (
    select * from {{ ref('stg_semantic__labelled_pairs') }}
    where left_id is not null and right_id is not null
),

decisions as (
    select * from {{ ref('stg_semantic__review_decisions') }}
    where label in ('match', 'not_match')
),

assets as (
    select asset_id, text from {{ ref('stg_semantic__assets') }}
),

briefs as (
    select brief_id, text from {{ ref('stg_semantic__briefs') }}
),

references_ as (
    select reference_id, text from {{ ref('stg_semantic__compliance_references') }}
),

-- every label ever given: the input's (also those a later decision replaced) and every decision recorded
all_labels as (
    select task, key_left as left_id, key_right as right_id, label, 'input' as given_by
    from {{ ref('stg_semantic__labelled_pairs_input') }}
    where key_left is not null and key_right is not null and label is not null
    union all
    select task, left_id, right_id, if(label = 'match', 1, 0), reviewer
    from decisions
),

both_ways as (
    select
        all_labels.task,
        all_labels.left_id,
        all_labels.right_id,
        count(*) filter (where all_labels.label = 1) as n_match,
        count(*) filter (where all_labels.label = 0) as n_not_match,
        string_agg(distinct all_labels.given_by, ', ' order by all_labels.given_by) as given_by
    from all_labels
    group by all
    having count(distinct all_labels.label) = 2
),

kept as (
    select
        task,
        if(task = 'duplicate', least(left_id, right_id), left_id) as left_id,
        if(task = 'duplicate', greatest(left_id, right_id), right_id) as right_id,
        max(label) as label,
        count(distinct label) as n_labels
    from labelled
    group by all
),

both_ways_rows as (
    select
        'labelled_both_ways' as conflict_kind,
        both_ways.task,
        both_ways.left_id as id_a,
        both_ways.right_id as id_b,
        cast(null as varchar) as id_c,
        if(kept.n_labels = 1, kept.label, null) as label_kept,
        both_ways.n_match || ' match and ' || both_ways.n_not_match || ' not-match label(s) by ' || both_ways.given_by
            as detail
    from both_ways
    left join kept using (task, left_id, right_id)
),

edges as (
    select left_id as a, right_id as b, label from kept where task = 'duplicate' and n_labels = 1
    union all
    select right_id, left_id, label from kept where task = 'duplicate' and n_labels = 1
),

triangles as (
    select distinct
        least(ab.a, bc.b) as id_a,
        ab.b as id_b,
        greatest(ab.a, bc.b) as id_c
    from edges as ab
    join edges as bc on bc.a = ab.b and bc.b <> ab.a and ab.label = 1 and bc.label = 1
    join edges as ac on ac.a = ab.a and ac.b = bc.b and ac.label = 0
),

triangle_rows as (
    select
        'duplicate_triangle' as conflict_kind,
        'duplicate' as task,
        id_a,
        id_b,
        id_c,
        cast(null as integer) as label_kept,
        id_a || ' = ' || id_b || ' and ' || id_b || ' = ' || id_c || ', but ' || id_a || ' != ' || id_c as detail
    from triangles
),

conflicts as (
    select * from both_ways_rows
    union all
    select * from triangle_rows
),

final as (
    select
        conflicts.conflict_kind,
        conflicts.task,
        conflicts.id_a,
        conflicts.id_b,
        conflicts.id_c,
        conflicts.label_kept,
        conflicts.detail,
        coalesce(if(conflicts.task = 'brief_match', brief_a.text, null), asset_a.text) as text_a,
        coalesce(if(conflicts.task = 'lookalike', reference_b.text, null), asset_b.text) as text_b,
        asset_c.text as text_c
    from conflicts
    left join assets as asset_a on asset_a.asset_id = conflicts.id_a
    left join briefs as brief_a on brief_a.brief_id = conflicts.id_a
    left join assets as asset_b on asset_b.asset_id = conflicts.id_b
    left join references_ as reference_b on reference_b.reference_id = conflicts.id_b
    left join assets as asset_c on asset_c.asset_id = conflicts.id_c
)

select * from final
