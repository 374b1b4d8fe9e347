{#- For a staging model: {contract column: the user's column, quoted} of the columns an input has, as
    stg_semantic__inputs found them (empty while dbt parses, and when the input is off). -#}
{% macro semantic_input_columns(name) %}
    {%- set inputs = ref('stg_semantic__inputs') -%}
    {%- if not execute -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set found = run_query("select columns_json from " ~ inputs ~ " where input_name = '" ~ name ~ "'") -%}
    {%- set columns = fromjson(found.columns[0].values()[0]) if found.rows | length else {} -%}
    {%- set quoted = {} -%}
    {%- for key, column in columns.items() -%}
        {%- do quoted.update({key: '"' ~ (column | replace('"', '""')) ~ '"'}) -%}
    {%- endfor -%}
    {{ return(quoted) }}
{% endmacro %}
