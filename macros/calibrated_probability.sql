{#- The calibrated match probability of `similarity` on a joined row of
    dim_similarity_calibration_curve (alias `curve`, the segment with x0 <= similarity < x1):
    linear interpolation between the segment's ends, exactly as semantic.decisions.calibration does. -#}
{% macro calibrated_probability(similarity, curve) -%}
    ({{ curve }}.y0 + ({{ curve }}.y1 - {{ curve }}.y0) * ({{ similarity }} - {{ curve }}.x0) / ({{ curve }}.x1 - {{ curve }}.x0))
{%- endmacro %}

{#- Join condition for the curve segment of `task` that holds `similarity`. -#}
{% macro calibration_segment_join(similarity, task, model_version, curve) -%}
    {{ curve }}.task = '{{ task }}'
    and {{ curve }}.model_version = {{ model_version }}
    and {{ similarity }} >= {{ curve }}.x0
    and {{ similarity }} < {{ curve }}.x1
{%- endmacro %}
