{#- The key test: fails (with an error that names them) when a key column holds duplicate values
    or NULLs. dbt's own `unique` test only reports a count and passes NULLs, so it is paired with
    `not_null`; this one does both in one query and says which ids to fix. `allow_null=true` lets
    NULL keys through (an optional reference, say). -#}
{% test semantic_unique_ids(model, column_name, max_listed=20, allow_null=false) %}
{% if max_listed is not number or max_listed < 1 %}
    {{ exceptions.raise_compiler_error("semantic_unique_ids: max_listed must be a positive integer; got " ~ max_listed) }}
{% endif %}
{% if allow_null not in [true, false] %}
    {{ exceptions.raise_compiler_error("semantic_unique_ids: allow_null must be true or false; got " ~ allow_null) }}
{% endif %}
{%- set what = (model ~ "." ~ column_name) | replace("'", "''") %}

with duplicates as (
    select {{ column_name }} as duplicate_id, count(*) as n_rows
    from {{ model }}
    where {{ column_name }} is not null
    group by 1
    having count(*) > 1
),

summary as (
    select
        count(*) as n_duplicate_ids,
        string_agg(duplicate_id || ' (' || n_rows || ' rows)', ', ' order by duplicate_id)
            filter (where listed) as listed_ids
    from (
        select *, row_number() over (order by duplicate_id) <= {{ max_listed }} as listed
        from duplicates
    )
),

failures as (
    select
        duplicates.duplicate_id as failing_id,
        error(
            '{{ what }} has ' || summary.n_duplicate_ids
            || ' duplicate id(s): ' || summary.listed_ids
            || '. Ids must be unique: remove or rename the duplicates in the source.'
        ) as failure
    from duplicates
    cross join summary
    {%- if not allow_null %}

    union all

    select
        null as failing_id,
        error(
            '{{ what }} is NULL in ' || n_null || ' row(s). Every row needs an id: fill it or filter '
            || 'those rows out in the source (or pass allow_null=true if NULL is a valid key here).'
        ) as failure
    from (select count(*) as n_null from {{ model }} where {{ column_name }} is null)
    where n_null > 0
    {%- endif %}
)

select * from failures
{% endtest %}
