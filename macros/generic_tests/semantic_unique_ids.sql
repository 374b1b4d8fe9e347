{#- Fails (with an error that names them) when a key column holds duplicate values.
    dbt's own `unique` test only reports a count; this one says which ids to fix. -#}
{% test semantic_unique_ids(model, column_name, max_listed=20) %}
{% if max_listed is not number or max_listed < 1 %}
    {{ exceptions.raise_compiler_error("semantic_unique_ids: max_listed must be a positive integer; got " ~ max_listed) }}
{% endif %}

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

final as (
    select
        duplicates.*,
        error(
            '{{ (model ~ "." ~ column_name) | replace("'", "''") }} has ' || summary.n_duplicate_ids
            || ' duplicate id(s): ' || summary.listed_ids
            || '. Ids must be unique: remove or rename the duplicates in the source.'
        ) as failure
    from duplicates
    cross join summary
)

select * from final
{% endtest %}
