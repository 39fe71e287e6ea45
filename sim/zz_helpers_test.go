package sim

import "github.com/llmload/llmload/theory"

type theoryAccelerator = theory.Accelerator

func builtinAccelerators() []theory.Accelerator { return theory.Builtin().Accelerators }
