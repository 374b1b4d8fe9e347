{#- One row per item a person should decide, most valuable label first (queue_rank 1):
    - lookalikes whose decision is `review`, and unwaived `flag`s (task lookalike: asset, reference);
    - candidate near-duplicate pairs whose match probability lies in review_duplicate_band (task duplicate);
    - each brief's top review_brief_top_k matches that nobody labelled (task brief_match).
    label_value is the binary entropy of the calibrated match probability (semantic/review/queue.py);
    ties go to the item whose score lies nearest its threshold (abs(margin)). An item decided with
    `semantic label` (or labelled in the input labelled_pairs) leaves the queue, and comes back only when
    one of its texts changed since the decision (previous_label then shows what was decided). -#}
{%- set band = var('review_duplicate_band') -%}
{%- if band is string or band is not iterable or band | length != 2 or band[0] is not number or band[1] is not number or band[0] < 0 or band[1] > 1 or band[0] > band[1] -%}
    {{ exceptions.raise_compiler_error("review_duplicate_band must be [low, high] with 0 <= low <= high <= 1 (match probabilities); got " ~ band) }}
{%- endif -%}
{%- set top_k = var('review_brief_top_k') -%}
{%- if top_k is not number or top_k < 0 -%}
    {{ exceptions.raise_compiler_error("review_brief_top_k must be a whole number >= 0 (0 queues no brief match); got " ~ top_k) }}
{%- endif -%}

with lookalikes as (
    select * from {{ ref('fct_compliance_lookalikes') }}
),

duplicate_pairs as (
    select * from {{ ref('int_duplicate_pair_scores') }}
),

brief_matches as (
    select * from {{ ref('fct_brief_asset_matches') }}
),

thresholds as (
    select task, model_version, threshold from {{ ref('dim_similarity_thresholds') }}
),

curve as (
    select * from {{ ref('dim_similarity_calibration_curve') }}
    where task = 'duplicate'
),

assets as (
    select asset_id, text, content_hash from {{ ref('stg_semantic__assets') }}
),

briefs as (
    select brief_id, text, content_hash from {{ ref('stg_semantic__briefs') }}
),

references_ as (
    select reference_id, text, content_hash from {{ ref('stg_semantic__compliance_references') }}
),

labelled as (
    select * from {{ ref('stg_semantic__labelled_pairs') }}
),

decisions as (
    select * from {{ ref('stg_semantic__review_decisions') }}
),

latest_decisions as (
    select task, left_id, right_id, label, left_hash, right_hash
    from decisions
    qualify row_number() over (partition by task, left_id, right_id order by decided_at desc, decision_id desc) = 1
),

lookalike_items as (
    select
        'lookalike' as task,
        case decision when 'flag' then 'lookalike_flag' else 'lookalike_review' end as reason,
        asset_id as left_id,
        reference_id as right_id,
        similarity,
        match_probability,
        margin,
        decision as current_decision,
        rule_id,
        regulation,
        severity,
        rationale,
        matched_sentence,
        model_version
    from lookalikes
    where decision = 'review' or (decision = 'flag' and not is_waived)
),

duplicate_items as (
    select
        'duplicate' as task,
        'duplicate_uncertain' as reason,
        least(pairs.asset_id_a, pairs.asset_id_b) as left_id,
        greatest(pairs.asset_id_a, pairs.asset_id_b) as right_id,
        pairs.similarity,
        coalesce(pairs.decision_probability, {{ calibrated_probability('pairs.similarity', 'curve') }}) as match_probability,
        if(pairs.scorer = 'decision', pairs.decision_score - pairs.decision_threshold,
           pairs.similarity - thresholds.threshold) as margin,
        case
            when if(pairs.scorer = 'decision', pairs.decision_score >= pairs.decision_threshold,
                    pairs.similarity >= thresholds.threshold) then 'near_duplicate'
            else 'distinct'
        end as current_decision,
        cast(null as varchar) as rule_id,
        cast(null as varchar) as regulation,
        cast(null as varchar) as severity,
        cast(null as varchar) as rationale,
        cast(null as varchar) as matched_sentence,
        pairs.model_version
    from duplicate_pairs as pairs
    left join thresholds on thresholds.task = 'duplicate' and thresholds.model_version = pairs.model_version
    left join curve on {{ calibration_segment_join('pairs.similarity', 'duplicate', 'pairs.model_version', 'curve') }}
    where coalesce(pairs.decision_probability, {{ calibrated_probability('pairs.similarity', 'curve') }})
        between {{ band[0] }} and {{ band[1] }}
),

brief_items as (
    select
        'brief_match' as task,
        'brief_match_unlabelled' as reason,
        matches.brief_id as left_id,
        matches.asset_id as right_id,
        matches.similarity,
        matches.match_probability,
        matches.similarity - thresholds.threshold as margin,
        case when matches.similarity >= thresholds.threshold then 'match' else 'below_threshold' end as current_decision,
        cast(null as varchar) as rule_id,
        cast(null as varchar) as regulation,
        cast(null as varchar) as severity,
        cast(null as varchar) as rationale,
        cast(null as varchar) as matched_sentence,
        matches.model_version
    from brief_matches as matches
    left join thresholds on thresholds.task = 'brief_match' and thresholds.model_version = matches.model_version
    where matches.rank <= {{ top_k }} and not matches.is_known_match
),

items as (
    select * from lookalike_items
    union all
    select * from duplicate_items
    union all
    select * from brief_items
),

with_texts as (
    select
        items.*,
        coalesce(left_asset.text, left_brief.text) as left_text,
        coalesce(right_asset.text, right_reference.text) as right_text,
        coalesce(left_asset.content_hash, left_brief.content_hash) as left_hash,
        coalesce(right_asset.content_hash, right_reference.content_hash) as right_hash
    from items
    -- the task picks the side's table inside the key (NULL joins nothing): a plain equality is a hash join, where
    -- `items.task = 'lookalike' and ...` made DuckDB loop over items x references (135 s at 100,000 assets)
    left join assets as left_asset on left_asset.asset_id = if(items.task <> 'brief_match', items.left_id, null)
    left join briefs as left_brief on left_brief.brief_id = if(items.task = 'brief_match', items.left_id, null)
    left join assets as right_asset on right_asset.asset_id = if(items.task <> 'lookalike', items.right_id, null)
    left join references_ as right_reference
        on right_reference.reference_id = if(items.task = 'lookalike', items.right_id, null)
),

open_items as (
    select
        with_texts.*,
        latest_decisions.label as previous_label
    from with_texts
    left join latest_decisions
        on latest_decisions.task = with_texts.task
        and latest_decisions.left_id = with_texts.left_id
        and latest_decisions.right_id = with_texts.right_id
    -- decided on these very texts: done
    where not (
        latest_decisions.label is not null
        and latest_decisions.left_hash is not distinct from with_texts.left_hash
        and latest_decisions.right_hash is not distinct from with_texts.right_hash
    )
    -- labelled in the team's own labelled_pairs
    and not exists (
        select 1 from labelled
        where labelled.source = 'input'
            and labelled.task = with_texts.task
            and if(labelled.task = 'duplicate', least(labelled.left_id, labelled.right_id), labelled.left_id) = with_texts.left_id
            and if(labelled.task = 'duplicate', greatest(labelled.left_id, labelled.right_id), labelled.right_id) = with_texts.right_id
    )
),

final as (
    select
        substr(md5(concat_ws('|', task, left_id, right_id)), 1, 12) as review_id,
        row_number() over (
            order by {{ semantic_label_value('match_probability') }} desc, abs(margin) asc nulls last,
                task, left_id, right_id
        ) as queue_rank,
        task,
        reason,
        left_id,
        right_id,
        left_text,
        right_text,
        similarity,
        match_probability,
        {{ semantic_label_value('match_probability') }} as label_value,
        margin,
        current_decision,
        rule_id,
        regulation,
        severity,
        rationale,
        matched_sentence,
        previous_label,
        left_hash,
        right_hash,
        model_version
    from open_items
)

select * from final
