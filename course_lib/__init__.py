"""course_lib: the scaffolding behind the actor-critic course notebooks."""

__version__ = "0.1.0"
