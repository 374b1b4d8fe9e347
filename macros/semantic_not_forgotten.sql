{#- A filter that keeps out the ids `semantic forget` erased (the table main.semantic_forgotten, which
    it writes into the build before dbt runs; semantic/warehouse/erasure.py). True when nothing was
    forgotten. The compiled SQL carries the count and a digest of the ids, so a fingerprinted model
    reading a forgotten id's source row is rebuilt when the list grows. The staging models of every
    input that names an asset use it: an asset forgotten while still in the source stays out of every
    model, search and LanceDB table until its row is removed there. -#}
{% macro semantic_not_forgotten(column) %}
    {%- set relation = none -%}
    {%- if execute -%}
        {%- set relation = adapter.get_relation(database=target.database, schema='main', identifier='semantic_forgotten') -%}
    {%- endif -%}
    {%- if relation is none -%}
        true
    {%- else -%}
        {%- set digest = run_query("select count(*) || ' ids, md5 ' || coalesce(md5(string_agg(asset_id, ',' order by asset_id)), '') from " ~ relation).columns[0].values()[0] -%}
        ({{ column }} is null or {{ column }} not in (select asset_id from {{ relation }})) /* semantic forget: {{ digest }} */
    {%- endif -%}
{% endmacro %}
