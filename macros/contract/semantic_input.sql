{#- The relation an input of the source contract (semantic/warehouse/contract.yml) reads, as SQL: the value of
    the var semantic_input_<name> (a source(), a ref(), a table name or a file DuckDB can read), or
    none when the var is unset (the input is off). -#}
{% macro semantic_input(name) %}
    {%- set value = var('semantic_input_' ~ name, none) -%}
    {%- if value is none or (value | string | trim | lower) in ('', 'none', 'null') -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(value | string | trim) }}
{% endmacro %}
