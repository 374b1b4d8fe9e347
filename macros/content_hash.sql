{#- The hash that decides whether a row must be embedded again: md5 of the normalised text. -#}
{% macro content_hash(column) -%}
case when {{ column }} is not null then md5({{ column }}) end
{%- endmacro %}
