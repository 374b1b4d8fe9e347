{#- The compliance gate. Fails the build when an asset created on or after `since` (all assets when
    null) has a non-waived `flag` (or, with decision='review', `flag` or `review`) on a reference of
    at least `min_severity`, and the error lists each such asset with the nearest claim, its rule,
    severity and the similarity. Waive a pair in seeds/compliance_waivers.csv to let it pass. -#}
{% test semantic_no_compliance_lookalikes(model, min_severity='high', decision='flag', since=none, max_listed=10) %}
{%- set levels = {'low': 1, 'medium': 2, 'high': 3, 'critical': 4} -%}
{%- set since = none if since in [none, 'None', 'none', 'null', ''] else since -%}
{%- if min_severity not in levels -%}
    {{ exceptions.raise_compiler_error("semantic_no_compliance_lookalikes: min_severity must be one of low, medium, high, critical; got " ~ min_severity) }}
{%- endif -%}
{%- if decision not in ['flag', 'review'] -%}
    {{ exceptions.raise_compiler_error("semantic_no_compliance_lookalikes: decision must be flag or review; got " ~ decision) }}
{%- endif %}

with violations as (
    select *
    from {{ model }}
    where decision in ({{ "'flag'" if decision == 'flag' else "'flag', 'review'" }})
        and not is_waived
        and severity_rank >= {{ levels[min_severity] }}
        {%- if since is not none %}
        and created_at >= date '{{ since }}'
        {%- endif %}
),

summary as (
    select
        count(*) as n_violations,
        string_agg(
            asset_id || ' ~ ' || reference_id || ' "' || left(claim_text, 80) || '" (rule ' || rule_id
            || ', ' || severity || ', ' || decision || ', similarity ' || round(similarity, 3) || ', score ' || round(score, 3) || ')',
            '; ' order by score desc
        ) filter (where listed) as listed
    from (
        select *, row_number() over (order by score desc, asset_id) <= {{ max_listed }} as listed
        from violations
    )
),

final as (
    select
        violations.*,
        error(
            'compliance gate: ' || summary.n_violations || ' asset(s) look like rejected claims ('
            || '{{ decision }}, severity >= {{ min_severity }}): ' || summary.listed
            || '. Rewrite the copy, or add an approved waiver (asset_id, reference_id, approved_by, '
            || 'approved_at, reason) to seeds/compliance_waivers.csv.'
        ) as failure
    from violations
    cross join summary
)

select * from final
{% endtest %}
