{#- The ANN recall gate. For each LanceDB table named in `column_name`, compares the indexed search
    with exact search (top `k`, on `sample` of the table's own rows as queries, seeded) and fails,
    naming the table and its recall, when the recall is below `min_recall`. A table without an
    index is searched exactly and passes without a search; `indexed_column` (a boolean column of
    the model saying whether the table has an index, as dim_vector_indexes.has_index) skips those
    tables without opening them. Defaults: vars ann_min_recall and ann_recall_sample. -#}
{% test semantic_ann_recall(model, column_name, min_recall=none, sample=none, k=10, indexed_column=none) %}
{%- set min_recall = var('ann_min_recall') if min_recall is none else min_recall -%}
{%- set sample = var('ann_recall_sample') if sample is none else sample -%}
{%- if min_recall is not number or min_recall < 0 or min_recall > 1 -%}
    {{ exceptions.raise_compiler_error("semantic_ann_recall: min_recall must be a number in [0, 1]; got " ~ min_recall ~ ". Set var ann_min_recall, e.g. 0.95") }}
{%- endif -%}
{%- if sample is not number or sample < 1 or k is not number or k < 1 -%}
    {{ exceptions.raise_compiler_error("semantic_ann_recall: sample and k must be positive integers; got sample=" ~ sample ~ ", k=" ~ k ~ ". Set var ann_recall_sample, e.g. 200") }}
{%- endif %}

with measured as (
    select
        {{ column_name }} as table_name,
        semantic_ann_recall({{ column_name }}, {{ sample | int }}, {{ k | int }}) as recall
    from {{ model }}
    where {{ column_name }} is not null
    {%- if indexed_column %}
        and {{ indexed_column }}
    {%- endif %}
),

below as (
    select * from measured where recall < {{ min_recall }}
),

summary as (
    select
        count(*) as n_tables,
        string_agg(table_name || ' recall@{{ k }} ' || round(recall, 3), ', ' order by recall) as listed
    from below
),

final as (
    select
        below.*,
        error(
            'ANN recall gate: ' || summary.n_tables || ' LanceDB table(s) below ann_min_recall {{ min_recall }}: '
            || summary.listed || ' (indexed search against exact top-{{ k }} on {{ sample }} of each table''s rows). '
            || 'Rebuild the index (drop it; the next dbt build retrains it), or raise vector_index_min_rows '
            || 'to search such tables exactly.'
        ) as failure
    from below
    cross join summary
)

select * from final
{% endtest %}
