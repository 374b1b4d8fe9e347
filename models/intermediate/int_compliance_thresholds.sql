{#- The lookalike thresholds in force for each encoder version: the flag threshold and the review threshold
    (the abstain zone lies below the flag, never above it), calibrated in dim_similarity_thresholds or fixed by
    the vars lookalike_threshold and lookalike_review_threshold. fct_compliance_lookalikes decides with them and
    int_compliance_reviews_reranked asks the lookalike reranker about the zone between them. -#}
{{ config(materialized='view') }}
{%- set flag_override = var('lookalike_threshold') -%}
{%- set review_override = var('lookalike_review_threshold') -%}
{%- for name, value in [('lookalike_threshold', flag_override), ('lookalike_review_threshold', review_override)] -%}
    {%- if value is not none and (value is not number or value < -1 or value > 1) -%}
        {{ exceptions.raise_compiler_error(name ~ " must be null (use the calibrated threshold) or a lookalike score in [-1, 1] (the `score` column of fct_compliance_lookalikes); got " ~ value) }}
    {%- endif -%}
{%- endfor %}
{%- set flag_sql = flag_override if flag_override is not none else 'threshold' -%}
{%- set review_sql = review_override if review_override is not none else 'coalesce(review_threshold, threshold)' %}


select
    model_version,
    {{ flag_sql }} as flag_threshold,
    least({{ review_sql }}, {{ flag_sql }}) as review_threshold
from {{ ref('dim_similarity_thresholds') }}
where task = 'lookalike'
