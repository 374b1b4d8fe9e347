{#- The value of a label (semantic/review/queue.py, label_value): the binary entropy in bits of a
    calibrated match probability clipped to [1e-6, 1 - 1e-6]; NULL (no calibration) counts as 0.5. -#}
{% macro semantic_label_value(probability) -%}
    {%- set p = 'greatest(least(coalesce(' ~ probability ~ ', 0.5), 1 - 1e-6), 1e-6)' -%}
    round(-({{ p }} * log2({{ p }}) + (1 - {{ p }}) * log2(1 - {{ p }})), 6)
{%- endmacro %}
