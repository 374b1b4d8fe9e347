{#- One row per labelled pair: the input `labelled_pairs` (none: no rows, so the base encoder and the
    fallback thresholds are used) and the reviewers' decisions of the decision log
    (stg_semantic__review_decisions, source = 'review'). A pair names its sides by id (left_id,
    right_id) or gives their texts (text_a, text_b, normalised like the assets'). Without a split
    column, pairs are split by a hash of their group (or of the pair): 70 % train, 15 % valid, 15 %
    test. Of a pair's decisions the latest counts (a skip labels nothing), and only while both texts
    are the ones the reviewer saw; it replaces the input's label of the same pair (keeping the input's
    split). -#}
{{ config(materialized="table") }}  {#- a table, so semantic build can compare it with the build it replaces -#}

with from_input as (
    select * from {{ ref('stg_semantic__labelled_pairs_input') }}
),

decisions as (
    select * from {{ ref('stg_semantic__review_decisions') }}
),

latest_decisions as (
    select *
    from decisions
    qualify row_number() over (partition by task, left_id, right_id order by decided_at desc, decision_id desc) = 1
),

side_hashes as (
    select 'asset' as kind, asset_id as entity_id, content_hash from {{ ref('stg_semantic__assets') }}
    union all
    select 'brief', brief_id, content_hash from {{ ref('stg_semantic__briefs') }}
    union all
    select 'reference', reference_id, content_hash from {{ ref('stg_semantic__compliance_references') }}
),

-- a decision still holds while both texts are the ones the reviewer saw
reviewed as (
    select latest_decisions.*
    from latest_decisions
    join side_hashes as left_side
        on left_side.kind = case latest_decisions.task when 'brief_match' then 'brief' else 'asset' end
        and left_side.entity_id = latest_decisions.left_id
        and left_side.content_hash is not distinct from latest_decisions.left_hash
    join side_hashes as right_side
        on right_side.kind = case latest_decisions.task when 'lookalike' then 'reference' else 'asset' end
        and right_side.entity_id = latest_decisions.right_id
        and right_side.content_hash is not distinct from latest_decisions.right_hash
    where latest_decisions.label in ('match', 'not_match')
),

final as (
    select
        from_input.left_id,
        from_input.right_id,
        from_input.text_a,
        from_input.text_b,
        from_input.task,
        from_input.kind,
        from_input.label,
        from_input.split,
        from_input.group_id,
        'input' as source,
        cast(null as varchar) as reviewer,
        cast(null as timestamp) as decided_at
    from from_input
    anti join reviewed
        on reviewed.task = from_input.task
        and reviewed.left_id = from_input.key_left
        and reviewed.right_id = from_input.key_right
    union all
    select
        reviewed.left_id,
        reviewed.right_id,
        cast(null as varchar) as text_a,
        cast(null as varchar) as text_b,
        reviewed.task,
        'review' as kind,
        if(reviewed.label = 'match', 1, 0) as label,
        coalesce(input_split.split, reviewed.split) as split,
        cast(null as varchar) as group_id,
        'review' as source,
        reviewed.reviewer,
        reviewed.decided_at
    from reviewed
    left join (
        select task, key_left, key_right, any_value(split) as split
        from from_input group by all
    ) as input_split
        on input_split.task = reviewed.task
        and input_split.key_left = reviewed.left_id
        and input_split.key_right = reviewed.right_id
)

select * from final
-- a side naming an asset `semantic forget` erased drops the pair (brief_match: (brief, asset); lookalike:
-- (asset, reference); duplicate: two assets)
where case task
    when 'brief_match' then {{ semantic_not_forgotten('right_id') }}
    when 'lookalike' then {{ semantic_not_forgotten('left_id') }}
    else {{ semantic_not_forgotten('left_id') }} and {{ semantic_not_forgotten('right_id') }}
end
