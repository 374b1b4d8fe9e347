{#- The user's column names for an input: the var semantic_columns_<name>, {contract column: your column}. -#}
{% macro semantic_input_mapping(name) %}
    {%- set mapping = var('semantic_columns_' ~ name, none) -%}
    {%- if mapping is none or mapping == '' -%}
        {{ return({}) }}
    {%- endif -%}
    {%- if mapping is not mapping -%}
        {{ exceptions.raise_compiler_error("semantic_columns_" ~ name ~ " must be a mapping {contract column: your column}, e.g. {text: body}; got " ~ mapping) }}
    {%- endif -%}
    {{ return(mapping) }}
{% endmacro %}
