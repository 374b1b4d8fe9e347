{#- One row per labelled pair with both texts: what the encoder is fine-tuned and validated on. A side
    named by id takes the text of that asset, brief or reference; a side without one, its own text. -#}
with pairs as (
    select * from {{ ref('stg_semantic__labelled_pairs') }}
),

assets as (
    select asset_id, text from {{ ref('stg_semantic__assets') }}
),

briefs as (
    select brief_id, text from {{ ref('stg_semantic__briefs') }}
),

compliance_references as (
    select reference_id, text from {{ ref('stg_semantic__compliance_references') }}
),

joined as (
    select
        pairs.task,
        pairs.kind,
        pairs.left_id,
        pairs.right_id,
        -- the anchor (text_a) is the brief for brief matches and the rejected claim for lookalikes,
        -- so a claim's benign near-topic assets are its labelled hard negatives
        -- (a lookalike pair is (asset, reference): its sides swap)
        case pairs.task
            when 'lookalike' then if(pairs.right_id is null, pairs.text_b, compliance_references.text)
            when 'brief_match' then if(pairs.left_id is null, pairs.text_a, briefs.text)
            else if(pairs.left_id is null, pairs.text_a, left_assets.text)
        end as text_a,
        case pairs.task
            when 'lookalike' then if(pairs.left_id is null, pairs.text_a, left_assets.text)
            else if(pairs.right_id is null, pairs.text_b, right_assets.text)
        end as text_b,
        pairs.label,
        pairs.split,
        pairs.group_id
    from pairs
    left join assets as left_assets on left_assets.asset_id = pairs.left_id
    left join briefs on briefs.brief_id = pairs.left_id
    left join assets as right_assets on right_assets.asset_id = pairs.right_id
    left join compliance_references on compliance_references.reference_id = pairs.right_id
),

final as (
    select * from joined
    where text_a is not null and text_b is not null
)

select * from final
