{#- The FROM target of a staging model: the input's relation, or an empty relation when it is off
    (its columns then take their defaults, so the models after it build empty). -#}
{% macro semantic_input_source(name) %}
    {%- set relation = semantic_input(name) -%}
    {{- relation if relation is not none else '(select 1 as _semantic_input_off where false)' -}}
{% endmacro %}
