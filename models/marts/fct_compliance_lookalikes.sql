{#- The compliance check: for each asset, its top lookalike_top_k applicable references with
    similarity (the best unit's cosine), the reference's typicality, the score the thresholds apply
    to (similarity - lookalike_typicality_weight * typicality; int_compliance_candidates),
    calibrated probability, margin of the score over the flag threshold and a decision: `flag` at
    or above the calibrated lookalike threshold, `review` in the abstain zone down to the review
    threshold, `clear` below. With an active lookalike reranker, a review it judges below its clearing
    probability (int_compliance_reviews_reranked) is `clear` too, its probability shown: it never
    touches a flag. Waived (asset, reference) pairs stay visible with is_waived. -#}
with candidates as (
    select * from {{ ref('int_compliance_candidates') }}
),

compliance_references as (
    select * from {{ ref('dim_compliance_references') }}
),

thresholds as (
    select * from {{ ref('int_compliance_thresholds') }}
),

curve as (
    select * from {{ ref('dim_similarity_calibration_curve') }}
    where task = 'lookalike'
),

waivers as (
    select * from {{ ref('stg_semantic__compliance_waivers') }}
    qualify row_number() over (partition by asset_id, reference_id order by approved_at desc) = 1
),

assets as (
    select asset_id, market, created_at, text from {{ ref('stg_semantic__assets') }}
),

sentences as (
    select sentence_id, text from {{ ref('stg_semantic__asset_sentences') }}
),

reranked as (
    select * from {{ ref('int_compliance_reviews_reranked') }}
),

decided as (
    select
        candidates.*,
        thresholds.flag_threshold,
        thresholds.review_threshold,
        candidates.score - thresholds.flag_threshold as margin,
        case
            when candidates.score >= thresholds.flag_threshold then 'flag'
            when candidates.score >= thresholds.review_threshold
                and reranked.reranker_probability < reranked.clear_below then 'clear'
            when candidates.score >= thresholds.review_threshold then 'review'
            else 'clear'
        end as decision,
        reranked.reranker_probability,
        reranked.reranker_version
    from candidates
    left join thresholds on thresholds.model_version = candidates.model_version
    left join reranked
        on reranked.asset_id = candidates.asset_id
        and reranked.reference_id = candidates.reference_id
        and reranked.score = candidates.score
),

final as (
    select
        decided.asset_id,
        decided.rank,
        assets.market,
        assets.created_at,
        decided.reference_id,
        compliance_references.rule_id,
        compliance_references.regulation,
        compliance_references.severity,
        compliance_references.severity_rank,
        decided.similarity,
        decided.typicality,
        decided.score,
        {{ calibrated_probability('decided.score', 'curve') }} as match_probability,
        decided.flag_threshold,
        decided.review_threshold,
        decided.margin,
        decided.decision,
        decided.decision = 'flag' as is_flagged,
        decided.reranker_probability,
        decided.reranker_version,
        waivers.asset_id is not null as is_waived,
        waivers.approved_by as waived_by,
        waivers.approved_at as waived_at,
        waivers.reason as waiver_reason,
        assets.text as asset_text,
        sentences.text as matched_sentence,
        compliance_references.claim_text,
        compliance_references.rationale,
        decided.model_version,
        decided.checked_at
    from decided
    left join curve
        on {{ calibration_segment_join('decided.score', 'lookalike', 'decided.model_version', 'curve') }}
    left join compliance_references on compliance_references.reference_id = decided.reference_id
    left join waivers
        on waivers.asset_id = decided.asset_id
        and waivers.reference_id = decided.reference_id
    left join assets on assets.asset_id = decided.asset_id
    left join sentences on sentences.sentence_id = decided.matched_sentence_id
)

select * from final
