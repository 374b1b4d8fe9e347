{#- Normalise free text for embedding: strip HTML tags, decode the common entities, collapse
    whitespace, and turn empty or blank text into NULL. -#}
{% macro normalize_text(column) -%}
nullif(
    trim(regexp_replace(
        replace(replace(replace(replace(replace(replace(
            regexp_replace({{ column }}, '<[^>]*>', ' ', 'g'),
            '&nbsp;', ' '), '&quot;', '"'), '&#39;', ''''), '&lt;', '<'), '&gt;', '>'), '&amp;', '&'),
        '\s+', ' ', 'g'
    )),
    ''
)
{%- endmacro %}
