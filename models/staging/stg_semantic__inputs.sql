{#- One row per input of the source contract (semantic/warehouse/contract.yml): the relation its
    semantic_input_<name> var points at (NULL: the input is off), the user's columns mapped to the
    contract's, the row count and a fingerprint of the mapped columns. Building it checks every input
    and stops the build with one message when one breaks the contract, before anything is embedded
    (macro semantic_check_inputs). A plain table, rebuilt every run: the staging models read their
    column mapping from it, and their fingerprints include its rows, so they are rebuilt when an input
    changes even when the input is a table name or a file rather than a ref or a source. -#}
{{ config(materialized='table') }}
{%- set names = ['assets', 'briefs', 'brief_matches', 'labelled_pairs', 'compliance_references', 'compliance_waivers'] -%}
{%- set reports = semantic_check_inputs(names) %}

with final as (
    {%- for report in reports %}
    select
        '{{ report.name }}' as input_name,
        {% if report.relation is not none %}'{{ report.relation | replace("'", "''") }}'{% else %}null{% endif %}::varchar as relation,
        {{ 'true' if report.relation is not none else 'false' }} as is_enabled,
        '{{ tojson(report.get('columns') or {}) | replace("'", "''") }}' as columns_json,
        {{ report.get('n_rows') if report.get('n_rows') is not none else 'null' }}::bigint as n_rows,
        {% if report.get('fingerprint') %}'{{ report.fingerprint }}'{% else %}null{% endif %}::varchar as fingerprint
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
