// FactsVisitor: one translation unit's facts from its Clang AST (see FactsVisitor.h).
#include "analyzer/source/FactsVisitor.h"
#include "analyzer/source/ClangFrontend.h" // isArgumentApi, isCallbackApi

#include "analyzer/ElfModule.h" // printable()

#include "clang/AST/ASTConsumer.h"
#include "clang/AST/ASTContext.h"
#include "clang/AST/Attr.h"
#include "clang/AST/Decl.h"
#include "clang/AST/Expr.h"
#include "clang/AST/ExprCXX.h"
#include "clang/AST/Mangle.h"
#include "clang/AST/RecursiveASTVisitor.h"
#include "clang/AST/Stmt.h"
#include "clang/Basic/Builtins.h"
#include "clang/Basic/Diagnostic.h"
#include "clang/Basic/SourceManager.h"
#include "clang/Index/USRGeneration.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <map>
#include <set>
#include <optional>
#include <tuple>

using namespace clang;
using llvm::Error;
using llvm::Expected;
using llvm::SmallString;
using llvm::StringRef;
namespace bespoke::source {

// `..` is resolved on the file system (a lexical removal is wrong across a symlink such as /lib ->
// usr/lib); other symlinks are kept as written.
std::string absolutePath(StringRef path, StringRef workingDir) {
  SmallString<256> p(path);
  if (!llvm::sys::path::is_absolute(p) && !workingDir.empty()) {
    SmallString<256> joined(workingDir);
    llvm::sys::path::append(joined, p);
    p = joined;
  }
  llvm::sys::path::remove_dots(p, /*remove_dot_dot=*/false);
  if (llvm::is_contained(llvm::make_range(llvm::sys::path::begin(p), llvm::sys::path::end(p)), "..")) {
    SmallString<256> real;
    if (!llvm::sys::fs::real_path(p, real)) return std::string(real);
    llvm::sys::path::remove_dots(p, /*remove_dot_dot=*/true);
  }
  return std::string(p);
}

namespace {

std::string where(const SourceLoc &loc) { return loc.file + ":" + std::to_string(loc.line); }

int entryRank(EntryKind k) {
  switch (k) {
  case EntryKind::None: return 0;
  case EntryKind::Escaping: return 1;
  case EntryKind::Callback: return 2;
  case EntryKind::Destructor: return 3;
  case EntryKind::Constructor: return 4;
  case EntryKind::Main: return 5;
  }
  return 0;
}

} // namespace

void raiseEntry(SourceFunction &f, EntryKind k, const std::string &why) {
  if (entryRank(k) > entryRank(f.entry) || (k == f.entry && k != EntryKind::None && why < f.entryWhy)) {
    f.entry = k;
    f.entryWhy = why;
  }
}

auto argKey(const ArgValue &a) { return std::tie(a.known, a.isString, a.value, a.text, a.alternatives); }

namespace {

// How each local variable of one function is written: a value is propagated only from a variable
// whose single write is known (its initializer, or one plain assignment) and whose address never leaks.
struct VarWrites {
  unsigned assignments = 0;
  const Expr *assigned = nullptr; // the right-hand side of the (last) plain assignment
  bool escapes = false;           // compound assignment, ++/--, address taken, asm output
};

class WriteScanner : public RecursiveASTVisitor<WriteScanner> {
public:
  llvm::DenseMap<const VarDecl *, VarWrites> writes;

  static const VarDecl *var(const Expr *e) {
    if (auto *ref = dyn_cast<DeclRefExpr>(e->IgnoreParenImpCasts())) return dyn_cast<VarDecl>(ref->getDecl());
    return nullptr;
  }
  bool VisitBinaryOperator(BinaryOperator *e) {
    if (!e->isAssignmentOp()) return true;
    if (const VarDecl *v = var(e->getLHS())) {
      VarWrites &w = writes[v];
      if (e->getOpcode() == BO_Assign) {
        ++w.assignments;
        w.assigned = e->getRHS();
      } else {
        w.escapes = true;
      }
    }
    return true;
  }
  bool VisitUnaryOperator(UnaryOperator *e) {
    if (e->isIncrementDecrementOp() || e->getOpcode() == UO_AddrOf)
      if (const VarDecl *v = var(e->getSubExpr())) writes[v].escapes = true;
    return true;
  }
  bool VisitGCCAsmStmt(GCCAsmStmt *s) {
    for (unsigned i = 0; i < s->getNumOutputs(); ++i)
      if (const VarDecl *v = var(s->getOutputExpr(i))) writes[v].escapes = true;
    return true;
  }
  // C++: a reference bound to the variable can write it.
  bool VisitVarDecl(VarDecl *d) {
    if (d->getType()->isReferenceType() && d->getInit())
      if (const VarDecl *v = var(d->getInit())) writes[v].escapes = true;
    return true;
  }
};

class FactsVisitor : public RecursiveASTVisitor<FactsVisitor> {
  using Base = RecursiveASTVisitor<FactsVisitor>;

public:
  FactsVisitor(ASTContext &ctx, std::string workingDir, TUResult &out)
      : ctx(ctx), sm(ctx.getSourceManager()), workingDir(std::move(workingDir)), out(out) {}

  bool shouldVisitTemplateInstantiations() const { return true; }

  bool TraverseDecl(Decl *d) {
    auto *fd = dyn_cast_or_null<FunctionDecl>(d);
    if (!fd || !fd->doesThisDeclarationHaveABody()) return Base::TraverseDecl(d);
    // An inline function nothing in this TU refers to is never emitted nor called here (headers define
    // many: byte swaps, glibc's fortify wrappers).
    if (fd->isInlined() && !fd->isReferenced() && !fd->hasAttr<UsedAttr>() && !fd->hasAttr<ConstructorAttr>() &&
        !fd->hasAttr<DestructorAttr>())
      return true;
    noteFunction(fd);
    functionStack.push_back(fd);
    bool ok = Base::TraverseDecl(d);
    functionStack.pop_back();
    return ok;
  }

  // Only the selected association of _Generic / __builtin_choose_expr is evaluated: the others neither
  // call nor take the address of anything (tgmath.h names every variant).
  bool TraverseGenericSelectionExpr(GenericSelectionExpr *e) {
    if (e->isResultDependent()) return Base::TraverseGenericSelectionExpr(e);
    return TraverseStmt(e->getResultExpr());
  }
  bool TraverseChooseExpr(ChooseExpr *e) {
    if (e->isConditionDependent()) return Base::TraverseChooseExpr(e);
    return TraverseStmt(e->getChosenSubExpr());
  }
  // sizeof / alignof do not evaluate their operand, except the size of a variable-length array.
  bool TraverseUnaryExprOrTypeTraitExpr(UnaryExprOrTypeTraitExpr *e) {
    if (e->getKind() == UETT_SizeOf && e->getTypeOfArgument()->isVariablyModifiedType())
      return Base::TraverseUnaryExprOrTypeTraitExpr(e);
    return true;
  }

  // typeof / decltype / noexcept do not evaluate their operand (except typeof of a variably modified type).
  bool TraverseTypeOfExprTypeLoc(TypeOfExprTypeLoc tl) {
    if (tl.getUnderlyingExpr()->getType()->isVariablyModifiedType()) return Base::TraverseTypeOfExprTypeLoc(tl);
    return true;
  }
  bool TraverseDecltypeTypeLoc(DecltypeTypeLoc) { return true; }
  bool TraverseCXXNoexceptExpr(CXXNoexceptExpr *) { return true; }

  bool VisitCallExpr(CallExpr *e) {
    const FunctionDecl *caller = currentFunction();
    if (const FunctionDecl *callee = e->getDirectCallee()) {
      if (const DeclRefExpr *ref = calleeRef(e)) calleeRefs.insert(ref);
      if (isCompilerBuiltin(callee)) return true;
      if (!caller) { // a C++ global's initializer: runs at start-up
        addDirectCall(callee, e->getBeginLoc());
        return true;
      }
      unsigned idx = noteFunction(callee);
      SourceCall call;
      call.callerUsr = usrOf(caller);
      call.loc = location(e->getBeginLoc());
      call.calleeUsr = out.functions[idx].fn.usr;
      const std::string &name = out.functions[idx].fn.name, &symbol = out.functions[idx].fn.symbol;
      // The C library's functions: not a C++ method or a program's static function of the same name.
      bool libc = callee->isExternC();
      if (libc && (isArgumentApi(name) || isArgumentApi(symbol)))
        for (const Expr *arg : e->arguments()) call.args.push_back(evaluate(arg, 0));
      if (libc && (isCallbackApi(name) || isCallbackApi(symbol)))
        for (const Expr *arg : e->arguments())
          if (const DeclRefExpr *ref = functionRef(arg))
            callbackRefs[ref] = "passed to " + name + " at " + where(call.loc);
      bool virtualCall = false;
      if (auto *member = dyn_cast<CXXMemberCallExpr>(e))
        if (auto *me = dyn_cast<MemberExpr>(member->getCallee()->IgnoreParens()); me && !me->hasQualifier())
          virtualCall = addVirtualCall(callee, call);
      // A pure virtual method without a body is never the target itself.
      if (!(virtualCall && callee->isPureVirtual() && !callee->isDefined())) out.calls.push_back(std::move(call));
      return true;
    }
    if (!caller || e->isTypeDependent()) return true;
    const Expr *calleeExpr = e->getCallee();
    QualType t = calleeExpr->getType();
    if (const auto *p = t->getAs<PointerType>()) t = p->getPointeeType();
    else if (const auto *b = t->getAs<BlockPointerType>()) t = b->getPointeeType();
    else if (const auto *m = t->getAs<MemberPointerType>()) t = m->getPointeeType();
    if (t.isNull() || !t->isFunctionType()) return true; // dependent or bound member calls (C++)
    SourceCall call;
    call.callerUsr = usrOf(caller);
    call.loc = location(e->getBeginLoc());
    call.indirectType = t.getCanonicalType().getAsString();
    call.typeCastAway = containsFunctionPointerCast(calleeExpr->IgnoreParenImpCasts());
    out.calls.push_back(std::move(call));
    return true;
  }

  bool VisitDeclRefExpr(DeclRefExpr *e) {
    auto *fd = dyn_cast<FunctionDecl>(e->getDecl());
    if (!fd || calleeRefs.erase(e) || isCompilerBuiltin(fd)) return true;
    FunctionRecord &r = out.functions[noteFunction(fd)];
    r.fn.addressTaken = true;
    auto it = callbackRefs.find(e);
    if (it != callbackRefs.end()) {
      raiseEntry(r.fn, EntryKind::Callback, it->second);
      callbackRefs.erase(it);
    } else {
      raiseEntry(r.fn, EntryKind::Escaping, "address taken at " + where(location(e->getLocation())));
    }
    return true;
  }

  // A function's address converted to a type other than a pointer to its own type.
  bool VisitCastExpr(CastExpr *e) {
    switch (e->getCastKind()) {
    case CK_FunctionToPointerDecay:
    case CK_NoOp:
    case CK_LValueToRValue:
      return true;
    default:
      break;
    }
    const Expr *sub = e->getSubExpr()->IgnoreParens();
    for (;;) {
      if (auto *u = dyn_cast<UnaryOperator>(sub); u && u->getOpcode() == UO_AddrOf) {
        sub = u->getSubExpr()->IgnoreParens();
      } else if (auto *c = dyn_cast<ImplicitCastExpr>(sub);
                 c && (c->getCastKind() == CK_FunctionToPointerDecay || c->getCastKind() == CK_NoOp)) {
        sub = c->getSubExpr()->IgnoreParens();
      } else {
        break;
      }
    }
    auto *ref = dyn_cast<DeclRefExpr>(sub);
    auto *fd = ref ? dyn_cast<FunctionDecl>(ref->getDecl()) : nullptr;
    if (!fd || isCompilerBuiltin(fd) || e->getType()->isDependentType()) return true;
    QualType own = ctx.getPointerType(fd->getType()).getCanonicalType();
    if (e->getType().getCanonicalType() != own) out.functions[noteFunction(fd)].fn.typeCastAway = true;
    return true;
  }

  bool VisitGCCAsmStmt(GCCAsmStmt *s) {
    if (!s->getAsmString()->getString().contains("syscall")) return true;
    const FunctionDecl *fn = currentFunction();
    out.inlineAsm.push_back({fn ? usrOf(fn) : std::string(), location(s->getAsmLoc())});
    return true;
  }

  bool VisitFileScopeAsmDecl(FileScopeAsmDecl *d) {
    if (d->getAsmString()->getString().contains("syscall"))
      out.inlineAsm.push_back({std::string(), location(d->getAsmLoc())});
    return true;
  }

  // __attribute__((cleanup(f))) calls f when the variable goes out of scope; so does a C++ destructor.
  // A C++ object with static storage is destroyed at exit.
  bool VisitVarDecl(VarDecl *d) {
    if (const auto *attr = d->getAttr<CleanupAttr>(); attr && attr->getFunctionDecl())
      addDirectCall(attr->getFunctionDecl(), d->getLocation());
    if (!ctx.getLangOpts().CPlusPlus || isa<ParmVarDecl>(d) || d->getType()->isDependentType()) return true;
    const CXXRecordDecl *rd = ctx.getBaseElementType(d->getType())->getAsCXXRecordDecl();
    const CXXDestructorDecl *dtor = rd && rd->hasDefinition() && !rd->hasTrivialDestructor() ? rd->getDestructor() : nullptr;
    if (!dtor) return true;
    if (d->hasLocalStorage()) {
      addDirectCall(dtor, d->getLocation());
    } else if (d->isThisDeclarationADefinition() == VarDecl::Definition) { // static storage
      FunctionRecord &r = out.functions[noteFunction(dtor)];
      raiseEntry(r.fn, EntryKind::Callback, "destroys " + d->getNameAsString() + " at exit (" + where(location(d->getLocation())) + ")");
    }
    return true;
  }

  // C++ calls that are not CallExprs.
  bool VisitCXXConstructExpr(CXXConstructExpr *e) {
    if (!e->getConstructor()->isTrivial()) addDirectCall(e->getConstructor(), e->getBeginLoc());
    return true;
  }
  bool VisitCXXNewExpr(CXXNewExpr *e) {
    addDirectCall(e->getOperatorNew(), e->getBeginLoc());
    return true;
  }
  bool VisitCXXDeleteExpr(CXXDeleteExpr *e) {
    addDirectCall(e->getOperatorDelete(), e->getBeginLoc());
    QualType t = e->getDestroyedType();
    if (!t.isNull() && !t->isDependentType())
      if (const CXXRecordDecl *rd = t->getAsCXXRecordDecl(); rd && rd->hasDefinition() && !rd->hasTrivialDestructor())
        addDirectCall(rd->getDestructor(), e->getBeginLoc(), /*mayBeVirtual=*/true);
    return true;
  }
  bool VisitCXXBindTemporaryExpr(CXXBindTemporaryExpr *e) {
    addDirectCall(e->getTemporary()->getDestructor(), e->getBeginLoc());
    return true;
  }

private:
  ASTContext &ctx;
  SourceManager &sm;
  std::string workingDir;
  TUResult &out;
  std::vector<const FunctionDecl *> functionStack;
  llvm::DenseMap<const FunctionDecl *, unsigned> functionIndex; // canonical decl -> out.functions
  llvm::DenseMap<const Decl *, std::string> usrs;
  llvm::DenseMap<FileID, std::string> paths;
  llvm::DenseSet<const DeclRefExpr *> calleeRefs;               // the callee of a direct call
  llvm::DenseMap<const DeclRefExpr *, std::string> callbackRefs; // a function passed to a callback API
  llvm::DenseMap<const FunctionDecl *, WriteScanner> writeScans;
  std::unique_ptr<MangleContext> mangler; // C++ only

  const FunctionDecl *currentFunction() const { return functionStack.empty() ? nullptr : functionStack.back(); }

  // A call the source does not spell as a call expression (cleanup functions, C++ constructors,
  // destructors, operator new/delete). Outside any function (a C++ global's initializer) the callee
  // runs at start-up.
  void addDirectCall(const FunctionDecl *callee, SourceLocation loc, bool mayBeVirtual = false) {
    if (!callee || isCompilerBuiltin(callee)) return;
    unsigned idx = noteFunction(callee);
    const FunctionDecl *caller = currentFunction();
    if (!caller) {
      raiseEntry(out.functions[idx].fn, EntryKind::Constructor, "initializes a global at " + where(location(loc)));
      return;
    }
    SourceCall call;
    call.callerUsr = usrOf(caller);
    call.loc = location(loc);
    call.calleeUsr = out.functions[idx].fn.usr;
    out.calls.push_back(call);
    if (mayBeVirtual) addVirtualCall(callee, call);
  }

  // A virtual call may reach any override: recorded also as an indirect call of the method's type
  // (every defined virtual method counts as address-taken: its address is in a vtable).
  bool addVirtualCall(const FunctionDecl *callee, SourceCall call) {
    const auto *m = dyn_cast<CXXMethodDecl>(callee);
    if (!m || !m->isVirtual() || m->hasAttr<FinalAttr>()) return false;
    call.calleeUsr.clear();
    call.indirectType = m->getType().getCanonicalType().getAsString();
    out.calls.push_back(std::move(call));
    return true;
  }

  // Compiler builtins (__builtin_expect, __sync_*, target intrinsics) are not functions; builtins that
  // name a library function (memcpy, __builtin_memcpy) may become calls and are kept.
  bool isCompilerBuiltin(const FunctionDecl *fd) const {
    unsigned id = fd->getBuiltinID();
    if (!id) return false;
    return !ctx.BuiltinInfo.isPredefinedLibFunction(id) && !ctx.BuiltinInfo.isLibFunction(id);
  }

  // The DeclRefExpr naming a direct callee, as Expr::getReferencedDeclOfCallee finds it.
  static const DeclRefExpr *calleeRef(const CallExpr *e) {
    const Expr *c = e->getCallee()->IgnoreParenImpCasts();
    while (auto *u = dyn_cast<UnaryOperator>(c)) {
      if (u->getOpcode() != UO_Deref && u->getOpcode() != UO_AddrOf && u->getOpcode() != UO_Plus) break;
      c = u->getSubExpr()->IgnoreParenImpCasts();
    }
    return dyn_cast<DeclRefExpr>(c);
  }

  // `f`, `&f`, `(handler_t)f` as an argument.
  static const DeclRefExpr *functionRef(const Expr *e) {
    const Expr *c = e->IgnoreParenCasts();
    while (auto *u = dyn_cast<UnaryOperator>(c)) {
      if (u->getOpcode() != UO_AddrOf && u->getOpcode() != UO_Deref) break;
      c = u->getSubExpr()->IgnoreParenCasts();
    }
    auto *ref = dyn_cast<DeclRefExpr>(c);
    return ref && isa<FunctionDecl>(ref->getDecl()) ? ref : nullptr;
  }

  static bool containsFunctionPointerCast(const Stmt *s) {
    if (!s) return false;
    if (auto *c = dyn_cast<ExplicitCastExpr>(s)) {
      QualType t = c->getType();
      if (t->isFunctionPointerType() || t->isBlockPointerType() || t->isMemberFunctionPointerType() ||
          t->isFunctionType())
        return true;
    }
    for (const Stmt *child : s->children())
      if (containsFunctionPointerCast(child)) return true;
    return false;
  }

  // Clang's USR; for a function without external linkage (static, anonymous namespace) followed by
  // "@" and the TU's main file: clang names such a function by the base name of the file that declares
  // it first, which two TUs can share (a/util.c and b/util.c, or one header declaring a static function).
  const std::string &usrOf(const Decl *d) {
    d = d->getCanonicalDecl();
    auto [it, inserted] = usrs.try_emplace(d);
    if (inserted) {
      SmallString<128> buf;
      const auto *nd = dyn_cast<NamedDecl>(d);
      if (index::generateUSRForDecl(d, buf)) // should not happen for functions
        buf = "bespoke:" + (nd ? nd->getNameAsString() : std::string("?")) + "@" + where(location(d->getLocation()));
      if (nd && !nd->isExternallyVisible()) {
        buf += "@";
        buf += out.file;
      }
      it->second = std::string(buf);
    }
    return it->second;
  }

  const std::string &pathOf(FileID fid) {
    auto [it, inserted] = paths.try_emplace(fid);
    if (inserted) {
      if (auto fe = sm.getFileEntryRefForID(fid))
        it->second = absolutePath(fe->getName(), workingDir);
      else
        it->second = std::string(sm.getBufferName(sm.getLocForStartOfFile(fid)));
    }
    return it->second;
  }

  // The file-level location: the spelling for tokens written in a file (macro arguments included), the
  // expansion for tokens that come from a macro body.
  SourceLoc location(SourceLocation l) {
    SourceLoc out;
    if (l.isInvalid()) return out;
    l = sm.getFileLoc(l);
    auto [fid, offset] = sm.getDecomposedLoc(l);
    if (fid.isInvalid()) return out;
    out.file = pathOf(fid);
    out.line = sm.getLineNumber(fid, offset);
    return out;
  }

  // The linker's name: an assembler label, a C++ mangled name (complete-object constructor and
  // destructor), else the plain name.
  std::string symbolOf(const FunctionDecl *fd) {
    for (const FunctionDecl *r : fd->redecls())
      if (const auto *label = r->getAttr<AsmLabelAttr>()) return label->getLabel().str();
    if (ctx.getLangOpts().CPlusPlus && !fd->isDependentContext() && !fd->getType()->isDependentType() &&
        !fd->getDescribedFunctionTemplate()) {
      if (!mangler) mangler.reset(ctx.createMangleContext());
      if (mangler->shouldMangleDeclName(fd)) {
        std::string name;
        llvm::raw_string_ostream os(name);
        if (const auto *c = dyn_cast<CXXConstructorDecl>(fd))
          mangler->mangleName(GlobalDecl(c, Ctor_Complete), os);
        else if (const auto *d = dyn_cast<CXXDestructorDecl>(fd))
          mangler->mangleName(GlobalDecl(d, Dtor_Complete), os);
        else
          mangler->mangleName(GlobalDecl(fd), os);
        return os.str();
      }
    }
    return fd->getNameAsString();
  }

  unsigned noteFunction(const FunctionDecl *fd) {
    const FunctionDecl *canon = fd->getCanonicalDecl();
    auto [it, inserted] = functionIndex.try_emplace(canon, unsigned(out.functions.size()));
    if (!inserted) return it->second;
    FunctionRecord r;
    r.fn.usr = usrOf(canon);
    r.fn.name = fd->getNameAsString();
    r.fn.symbol = symbolOf(fd);
    const FunctionDecl *def = nullptr;
    if (fd->hasBody(def) && def) {
      r.fn.defined = true;
      r.fn.loc = location(def->getLocation());
      r.fn.type = def->getType().getCanonicalType().getAsString();
      // available_externally: the body is only for inlining; the symbol is defined elsewhere.
      bool inlineOnly = ctx.GetGVALinkageForFunction(def) == GVA_AvailableExternally;
      (inlineOnly ? r.inlineDefinition : r.realDefinition) = true;
      if (def->isMain()) raiseEntry(r.fn, EntryKind::Main, "main");
      if (const auto *m = dyn_cast<CXXMethodDecl>(def); m && m->isVirtual()) r.fn.addressTaken = true;
      for (const FunctionDecl *d : def->redecls()) {
        if (d->hasAttr<ConstructorAttr>()) raiseEntry(r.fn, EntryKind::Constructor, "__attribute__((constructor))");
        if (d->hasAttr<DestructorAttr>()) raiseEntry(r.fn, EntryKind::Destructor, "__attribute__((destructor))");
      }
    } else {
      // The first declaration written in a file (builtins have an implicit one without a location).
      const FunctionDecl *first = nullptr;
      for (const FunctionDecl *d : fd->redecls())
        if (d->getLocation().isValid() &&
            (!first || sm.isBeforeInTranslationUnit(d->getLocation(), first->getLocation())))
          first = d;
      r.fn.loc = location((first ? first : fd)->getLocation());
      r.fn.type = fd->getMostRecentDecl()->getType().getCanonicalType().getAsString();
    }
    out.functions.push_back(std::move(r));
    return it->second;
  }

  // ---- argument values ----

  ArgValue evaluate(const Expr *e, unsigned depth) {
    ArgValue v;
    if (!e || depth > 4 || e->isValueDependent() || e->isTypeDependent()) return v;
    if (auto *s = dyn_cast<StringLiteral>(e->IgnoreParenCasts())) return stringValue(s);
    Expr::EvalResult r;
    if (e->EvaluateAsRValue(r, ctx)) {
      if (r.Val.isInt()) return intValue(r.Val.getInt());
      if (r.Val.isLValue()) {
        APValue::LValueBase base = r.Val.getLValueBase();
        if (!base) return intValue(llvm::APSInt::getUnsigned(uint64_t(r.Val.getLValueOffset().getQuantity())));
        if (const Expr *be = base.dyn_cast<const Expr *>())
          if (auto *s = dyn_cast<StringLiteral>(be); s && r.Val.getLValueOffset().isZero()) return stringValue(s);
      }
    }
    if (auto *ref = dyn_cast<DeclRefExpr>(e->IgnoreParenImpCasts()))
      if (auto *var = dyn_cast<VarDecl>(ref->getDecl())) return convert(variableValue(var, depth), e->getType());
    if (isa<ArraySubscriptExpr>(e->IgnoreParenImpCasts())) return tableValue(e);
    return v;
  }

  // An element of a const array with a constant initializer, indexed by anything: the set of values
  // the indexed positions hold (`tab[i][0]` -> element 0 of every row). Unknown if any is not constant.
  ArgValue tableValue(const Expr *e) {
    ArgValue v;
    std::vector<const Expr *> elems;
    if (!tableElements(e, elems, 0) || elems.empty() || elems.size() > 4096) return v;
    std::set<int64_t> values;
    for (const Expr *x : elems) {
      Expr::EvalResult r;
      if (x->isValueDependent() || !x->EvaluateAsInt(r, ctx)) return v;
      ArgValue iv = intValue(r.Val.getInt());
      if (!iv.known) return v;
      values.insert(iv.value);
    }
    v.known = true;
    v.value = *values.begin();
    if (values.size() > 1) v.alternatives.assign(values.begin(), values.end());
    return v;
  }

  // The initializer expressions an lvalue into a const table can designate.
  bool tableElements(const Expr *e, std::vector<const Expr *> &out, unsigned depth) {
    e = e->IgnoreParenImpCasts();
    if (depth > 4) return false;
    if (auto *ref = dyn_cast<DeclRefExpr>(e)) {
      auto *var = dyn_cast<VarDecl>(ref->getDecl());
      if (!var || !var->getType()->isArrayType() || !var->getType().isConstant(ctx)) return false;
      const VarDecl *initDecl = nullptr;
      const Expr *init = var->getAnyInitializer(initDecl);
      if (!init) return false;
      out.push_back(init);
      return true;
    }
    auto *sub = dyn_cast<ArraySubscriptExpr>(e);
    if (!sub) return false;
    std::vector<const Expr *> bases;
    if (!tableElements(sub->getBase(), bases, depth + 1)) return false;
    Expr::EvalResult idx;
    bool constant = !sub->getIdx()->isValueDependent() && sub->getIdx()->EvaluateAsInt(idx, ctx);
    for (const Expr *b : bases) {
      auto *list = dyn_cast<InitListExpr>(b->IgnoreParenImpCasts());
      if (!list || list->hasArrayFiller()) return false; // implicit zero elements: not enumerated
      if (constant) {
        uint64_t k = idx.Val.getInt().getZExtValue();
        if (k >= list->getNumInits()) return false;
        out.push_back(list->getInit(unsigned(k)));
      } else {
        for (unsigned k = 0; k < list->getNumInits(); ++k) out.push_back(list->getInit(k));
      }
    }
    return true;
  }

  ArgValue stringValue(const StringLiteral *s) {
    ArgValue v;
    if (!s->isOrdinary() && !s->isUTF8()) return v;
    StringRef text = s->getString();
    v.known = v.isString = true;
    v.text = text.substr(0, text.find('\0')).str();
    return v;
  }

  static ArgValue intValue(const llvm::APSInt &i) {
    ArgValue v;
    if (i.isSigned() ? i.getSignificantBits() > 64 : i.getActiveBits() > 64) return v;
    v.known = true;
    v.value = i.isSigned() ? i.getSExtValue() : int64_t(i.getZExtValue());
    return v;
  }

  // A variable's value converted to the integer type it is passed as (as the implicit conversion does).
  ArgValue convert(ArgValue v, QualType to) {
    if (!v.known || v.isString || !to->isIntegralOrEnumerationType()) return v;
    unsigned width = unsigned(ctx.getIntWidth(to));
    if (width == 0 || width > 64) return v;
    llvm::APSInt i(llvm::APInt(64, uint64_t(v.value), true), false);
    i = i.trunc(width);
    i.setIsSigned(to->isSignedIntegerOrEnumerationType());
    return intValue(i);
  }

  ArgValue variableValue(const VarDecl *var, unsigned depth) {
    ArgValue unknown;
    if (isa<ParmVarDecl>(var)) return unknown;
    QualType t = var->getType();
    bool array = t->isArrayType();
    if (!t->isIntegralOrEnumerationType() && !t->isPointerType() && !array) return unknown;
    const VarDecl *initDecl = nullptr;
    const Expr *init = var->getAnyInitializer(initDecl);
    if (array) // an array's contents can change without naming it: only const arrays
      return init && t.isConstant(ctx) ? evaluate(init, depth + 1) : unknown;
    if (!var->isLocalVarDecl()) // file scope: only constants
      return init && t.isConstant(ctx) ? evaluate(init, depth + 1) : unknown;
    const auto *fn = dyn_cast_or_null<FunctionDecl>(var->getParentFunctionOrMethod());
    if (!fn || !fn->getBody()) return unknown;
    auto [it, inserted] = writeScans.try_emplace(fn);
    if (inserted) it->second.TraverseStmt(fn->getBody());
    VarWrites w = it->second.writes.lookup(var);
    if (w.escapes) return unknown;
    if (init && w.assignments == 0) return evaluate(init, depth + 1);
    if (!init && w.assignments == 1 && !var->isStaticLocal()) return evaluate(w.assigned, depth + 1);
    return unknown;
  }
};

} // namespace

void collectTUFacts(clang::ASTContext &ctx, const std::string &workingDir, TUResult &out) {
  FactsVisitor visitor(ctx, workingDir, out);
  visitor.TraverseDecl(ctx.getTranslationUnitDecl());
}

} // namespace bespoke::source
