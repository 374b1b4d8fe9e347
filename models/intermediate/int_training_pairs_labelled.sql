-- One row per labelled pair with both texts: what the encoder is fine-tuned and validated on.
with pairs as (
    select * from {{ ref('stg_demo__labelled_pairs') }}
),

assets as (
    select asset_id, text from {{ ref('stg_demo__assets') }}
),

briefs as (
    select brief_id, text from {{ ref('stg_demo__briefs') }}
),

compliance_references as (
    select reference_id, text from {{ ref('stg_demo__compliance_references') }}
),

joined as (
    select
        pairs.task,
        pairs.kind,
        pairs.left_id,
        pairs.right_id,
        -- the anchor (text_a) is the brief for brief matches and the rejected claim for lookalikes,
        -- so a claim's benign near-topic assets are its labelled hard negatives
        case pairs.task
            when 'brief_match' then briefs.text
            when 'lookalike' then compliance_references.text
            else left_assets.text
        end as text_a,
        case when pairs.task = 'lookalike' then left_assets.text else right_assets.text end as text_b,
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
