"""LLM calls: cassettes and the spacy-llm model blocks the harness registers.

- :mod:`.cassette`: the record/replay store (pure: no spaCy, no network);
- :mod:`.cassette_model`: ``harness.Cassette.v1``, record/replay around any model block;
- :mod:`.openai_compatible`: ``harness.OpenAICompatible.v1``, chat completions over HTTP;
- :mod:`.simulated_teacher` and :mod:`.simulated_answers`: ``harness.SimulatedTeacher.v1``,
  the offline *simulated* teacher;
- :mod:`.registry`: registers the three blocks with spacy-llm (also reached through the
  ``thinc_llm_models`` entry points, so plain ``spacy_llm.util.assemble`` finds them).
"""
