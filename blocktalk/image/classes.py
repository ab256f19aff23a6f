"""The class hierarchy as read from chunk files, before any object exists.

:class:`ClassTable` replays class definitions in file-in order: a superclass must
be defined before its subclasses, a redefinition must keep the shape.  Classes
the builder itself instantiates (Array, Symbol, SystemDictionary, ...) that no
file defines get a stub definition with a warning, so a small test program can
be built without the kernel; a kernel definition always wins because stubs are
only made when a name is needed and still missing.
"""

from blocktalk.memory import format as F
from blocktalk.image.errors import SourceError

#: name -> (superclass, kind, instance variables) of the stub definitions.
STUBS = {
    "Object": (None, "pointers", ""),
    "Behavior": ("Object", "pointers", "superclass methodDict format classIndex"),
    "ClassDescription": ("Behavior", "pointers", "instanceVariables organization"),
    "Class": ("ClassDescription", "pointers", "name classPool sharedPools"),
    "Metaclass": ("ClassDescription", "pointers", "thisClass"),
    "UndefinedObject": ("Object", "pointers", ""),
    "Boolean": ("Object", "pointers", ""),
    "True": ("Boolean", "pointers", ""),
    "False": ("Boolean", "pointers", ""),
    "SmallInteger": ("Object", "pointers", ""),
    "LargePositiveInteger": ("Object", "bytes", ""),
    "LargeNegativeInteger": ("LargePositiveInteger", "bytes", ""),
    "Character": ("Object", "pointers", "value"),
    "Array": ("Object", "variable", ""),
    "String": ("Object", "bytes", ""),
    "Symbol": ("String", "bytes", ""),
    "Association": ("Object", "pointers", "key value"),
    "Dictionary": ("Object", "pointers", "tally array"),
    "SystemDictionary": ("Dictionary", "pointers", ""),
    "MethodDictionary": ("Object", "pointers", "tally keys values"),
    "CompiledMethod": ("Object", "bytes", ""),
    "LinkedList": ("Object", "pointers", "firstLink lastLink"),
    "Process": ("Object", "pointers", "nextLink suspendedContext priority myList"),
    "ProcessorScheduler": ("Object", "pointers", "quiescentProcessLists activeProcess"),
    "TextCollector": ("Object", "pointers", ""),
    "Firmware": ("Object", "pointers", " ".join(F.FIRMWARE_FIELDS)),
}


class ClassInfo:
    """One class as defined by the sources (plus, later, its objects)."""

    def __init__(self, name, superclass, kind, ivars, cvars, pools, category,
                 filename, line, column, stub=False):
        self.name = name
        self.superclass = superclass        # ClassInfo or None
        self.kind = kind                    # pointers / variable / bytes / words
        self.ivars = list(ivars)            # own instance variables
        self.cvars = list(cvars)            # class variable names
        self.pools = list(pools)
        self.category = category
        self.class_ivars = []               # own class-side instance variables
        self.where = (filename, line, column)
        self.stub = stub
        self.index = None                   # class index
        self.meta_index = None              # class index of the metaclass
        self.obj = None                     # the class object
        self.meta_obj = None                # the metaclass object

    def chain(self):
        """This class and its superclasses, root first."""
        out = []
        c = self
        while c is not None:
            out.append(c)
            c = c.superclass
        return out[::-1]

    def all_ivars(self):
        return [v for c in self.chain() for v in c.ivars]

    def all_class_ivars(self):
        return [v for c in self.chain() for v in c.class_ivars]

    def format(self):
        kind = F.KIND_METHOD if self.name == "CompiledMethod" else F.KIND_NAMES[self.kind]
        return F.class_format(kind, len(self.all_ivars()))

    def inherits_from(self, name):
        return any(c.name == name for c in self.chain())

    def __repr__(self):
        return f"<ClassInfo {self.name}>"


class ClassTable:
    """All classes by name, in definition order."""

    def __init__(self, warnings):
        self.classes = {}
        self.warnings = warnings

    def __contains__(self, name):
        return name in self.classes

    def __getitem__(self, name):
        return self.classes[name]

    def __iter__(self):
        return iter(self.classes.values())

    def need(self, name, filename="<builder>", line=1, column=1, what="class"):
        """The class ``name``, making a stub if allowed; SourceError if unknown."""
        c = self.classes.get(name)
        if c is None and name in STUBS:
            c = self._stub(name)
        if c is None:
            raise SourceError(f"unknown {what} {name}", filename, line, column)
        return c

    def _stub(self, name):
        sup, kind, ivars = STUBS[name]
        superclass = self.need(sup) if sup else None
        c = ClassInfo(name, superclass, kind, ivars.split(), [], [], "Stubs",
                      "<builder>", 1, 1, stub=True)
        self.classes[name] = c
        self.warnings.append(f"class {name} is not defined by the sources; "
                             f"using a stub definition")
        return c

    def define(self, d, filename):
        """Replay a ClassDefinition chunk."""
        sup = None
        if d.superclass is not None:
            sup = self.need(d.superclass, filename, d.line, d.column, "superclass")
        old = self.classes.get(d.name)
        if old is not None and not old.stub:
            same = (old.superclass is sup and old.kind == d.kind
                    and old.ivars == list(d.instance_variables))
            if not same:
                f, l, c = old.where
                raise SourceError(f"class {d.name} redefined with a different shape "
                                  f"(first defined at {f}:{l}:{c})", filename, d.line, d.column)
            old.cvars += [v for v in d.class_variables if v not in old.cvars]
            old.pools += [p for p in d.pools if p not in old.pools]
            return old
        if old is not None:
            # a stub made earlier (e.g. a superclass needed before its file) is
            # replaced in place, so subclasses already pointing at it stay valid
            if old.superclass is not sup or old.kind != d.kind \
                    or old.ivars != list(d.instance_variables):
                raise SourceError(f"class {d.name} was needed before its definition and "
                                  "its stub has another shape; define it earlier",
                                  filename, d.line, d.column)
            old.stub = False
            old.cvars = list(d.class_variables)
            old.pools = list(d.pools)
            old.category = d.category
            old.where = (filename, d.line, d.column)
            return old
        for v in d.instance_variables:
            if v in (sup.all_ivars() if sup else []):
                raise SourceError(f"instance variable {v} of {d.name} is already "
                                  "defined in a superclass", filename, d.line, d.column)
        c = ClassInfo(d.name, sup, d.kind, d.instance_variables, d.class_variables,
                      d.pools, d.category, filename, d.line, d.column)
        self.classes[d.name] = c
        return c

    def set_class_ivars(self, civ, filename):
        """Replay a ``Foo class instanceVariableNames: '...'`` chunk."""
        c = self.need(civ.class_name, filename, civ.line, civ.column)
        c.class_ivars = list(civ.instance_variables)

    def assign_indices(self):
        """Fixed indices from CLASS_INDEX; then, in definition order, one for each
        other class and one for every metaclass, from FIRST_FREE_CLASS_INDEX."""
        n = F.FIRST_FREE_CLASS_INDEX
        for c in self.classes.values():
            if c.name in F.CLASS_INDEX:
                c.index = F.CLASS_INDEX[c.name]
            else:
                c.index = n
                n += 1
            c.meta_index = n
            n += 1
        if n - 1 > F.MAX_CLASS_INDEX:
            raise SourceError(f"too many classes ({n - 1} class indices)")
        return n - 1
